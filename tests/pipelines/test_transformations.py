"""Transformations with the reference formatting."""

import pytest

from pipelines import rejections
from tests.pipelines.builders import make_pipeline, run


def stored_state(transformations, payload, value_type="Number"):
    pipeline = make_pipeline({"type_input_value": value_type}, transformations=transformations)
    _, results = run(pipeline, [(0, payload)])
    assert results[0].accepted, results[0].rejection
    (row,) = results[0].rows
    return row.state


@pytest.mark.parametrize(
    ("ratio", "payload", "expected"),
    [
        (2, "25", "50.000000"),
        (2, "0.1", "0.200000"),
        (0.0625, "336", "21.000000"),
        (0, "42", "0.000000"),
        (-1, "3", "-3.000000"),
        (1, "+1", "1.000000"),
        (1e-9, "1", "0.000000"),
        (3, "1e3", "3000.000000"),
    ],
)
def test_multiplication_always_gives_six_decimals(ratio, payload, expected):
    assert stored_state({"multiplication_ratio": ratio}, payload) == expected


@pytest.mark.parametrize(
    ("decimals", "payload", "expected"),
    [
        (2, "0.125", "0.12"),
        (2, "0.375", "0.38"),
        (0, "2.5", "2"),
        (0, "3.5", "4"),
        (2, "2.675", "2.67"),
        (2, "-0.001", "-0.00"),
        (3, "1", "1.000"),
        (7, "0.1", "0.1000000"),
    ],
)
def test_rounding_is_correctly_rounded_fixed_point(decimals, payload, expected):
    assert stored_state({"round_decimal_point": decimals}, payload) == expected


def test_multiplication_then_rounding():
    assert (
        stored_state({"multiplication_ratio": 0.0625, "round_decimal_point": 2}, "341") == "21.31"
    )


def test_number_without_transformations_keeps_the_raw_text():
    assert stored_state(None, "+1e3") == "+1e3"
    assert stored_state({}, "007") == "007"


def test_overflowing_product_is_not_stored():
    pipeline = make_pipeline(
        {"type_input_value": "Number"}, transformations={"multiplication_ratio": 1e300}
    )
    _, results = run(pipeline, [(0, "1e300")])
    assert results[0].rejection == rejections.NON_FINITE_RESULT
    assert results[0].rows == []


def test_number_transformations_are_ignored_for_text():
    assert stored_state({"multiplication_ratio": 2, "round_decimal_point": 1}, "3", "Text") == "3"


@pytest.mark.parametrize(
    ("bounds", "payload", "expected"),
    [
        ({"slice_start": 0, "slice_end": 3}, "abcdef", "abc"),
        ({"slice_start": 2}, "abcdef", "cdef"),
        ({"slice_end": -2}, "abcdef", "abcd"),
        ({"slice_start": -3}, "abcdef", "def"),
        ({"slice_start": -100, "slice_end": 100}, "abc", "abc"),
        ({"slice_start": 4, "slice_end": 2}, "abcdef", ""),
        ({"slice_start": 10}, "abc", ""),
        # UTF-8 bytes: "é" is two bytes, "€" three
        ({"slice_start": 0, "slice_end": 4}, "éé€", "éé"),
        ({"slice_start": 2}, "éa", "a"),
        ({"slice_start": -3}, "a€", "€"),
        # a character cut in half is dropped rather than stored as broken UTF-8
        ({"slice_start": 0, "slice_end": 3}, "éé", "é"),
        ({"slice_start": 1}, "éa", "a"),
    ],
)
def test_text_slicing_on_utf8_bytes(bounds, payload, expected):
    assert stored_state(bounds, payload, "Text") == expected


def test_text_slicing_ignored_for_numbers():
    assert stored_state({"slice_start": 0, "slice_end": 1}, "123") == "123"
