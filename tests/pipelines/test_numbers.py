import math

import pytest

from pipelines.numbers import (
    format_fixed,
    parse_finite_float,
    parse_float,
    presented_aggregate,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1.0),
        ("+1", 1.0),
        ("-1", -1.0),
        ("1.0", 1.0),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("1_000", 1000.0),
        ("1_23.50_0_0e+1_2", 1.235e14),
        ("0x1p-2", 0.25),
        ("0X1.8P1", 3.0),
        ("0x_1p0", 1.0),
        ("1e-400", 0.0),
    ],
)
def test_go_float_syntax_is_accepted(text, expected):
    assert parse_float(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1,5",
        "abc",
        ".",
        "e5",
        "1e",
        "_1",
        "1_",
        "1__0",
        "123_.5",
        "123._5",
        "0x10",  # a hex mantissa needs a p exponent
        "\uff11",  # FULLWIDTH DIGIT ONE: not an ASCII digit
        "+nan",
        "infin",
        "1e400",  # beyond float64: Go's ErrRange
        "-1e400",
    ],
)
def test_go_float_syntax_errors(text):
    assert parse_float(text) is None


@pytest.mark.parametrize(("text", "sign"), [("Inf", 1), ("+inf", 1), ("-Infinity", -1), ("INF", 1)])
def test_infinities_parse_but_are_not_finite(text, sign):
    assert parse_float(text) == sign * math.inf
    assert parse_finite_float(text) is None


def test_nan_parses_but_is_not_finite():
    assert math.isnan(parse_float("NaN"))
    assert parse_finite_float("nan") is None


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (50.0, 6, "50.000000"),
        (0.1 * 2, 6, "0.200000"),
        (0.125, 2, "0.12"),  # exact binary tie goes to even
        (0.375, 2, "0.38"),
        (2.5, 0, "2"),
        (3.5, 0, "4"),
        (2.675, 2, "2.67"),  # 2.675 is stored just below the tie
        (-0.001, 2, "-0.00"),
        (1e22, 1, "10000000000000000000000.0"),
        (math.inf, 6, "+Inf"),
        (-math.inf, 2, "-Inf"),
        (math.nan, 6, "NaN"),
    ],
)
def test_fixed_point_formatting_matches_go(value, decimals, expected):
    assert format_fixed(value, decimals) == expected


@pytest.mark.parametrize(
    ("value", "function", "decimals", "shown"),
    [
        (20.075000000000003, "Avg", 2, 20.075),  # more decimals than the values: the mean's
        (20.096666666666668, "Avg", None, 20.0966666667),
        (0.30000000000000004, "Sum", 1, 0.3),
        (0.30000000000000004, "Sum", None, 0.3),
        (123456789.123456, "Sum", None, 123456789.123456),  # no real digit is lost
        (0.30000000000000004, "Max", None, 0.30000000000000004),  # a value received as such
        (20.14, "Min", 2, 20.14),
        (float("nan"), "Avg", 2, None),
    ],
)
def test_presented_aggregate_drops_float_noise_only(value, function, decimals, shown):
    result = presented_aggregate(value, function, decimals)
    if shown is None:
        assert math.isnan(result)
    else:
        assert result == shown
