"""Numbers as the reference reads and writes them.

Parsing follows Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal float literals with `_`
between digits, `Inf`/`Infinity` (signed) and `NaN` in any case; no surrounding spaces; a finite
literal out of the float64 range is an error. Formatting follows Go's `%f` and `%.Nf`.
"""

import math
import re

_DIGITS = r"\d(?:_?\d)*"
_HEX_DIGITS = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL = re.compile(  # ASCII digits only, as Go
    rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?", re.ASCII
)
_HEXADECIMAL = re.compile(
    rf"[+-]?0[xX]_?(?:{_HEX_DIGITS}(?:\.(?:{_HEX_DIGITS})?)?|\.{_HEX_DIGITS})[pP][+-]?{_DIGITS}",
    re.ASCII,
)
_INFINITY = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_NAN = re.compile(r"nan", re.IGNORECASE)


_PLAIN_DECIMAL_CHARACTERS = frozenset("0123456789.eE+-")


def parse_float(text: str) -> float | None:
    """The float64 value of `text`, or None where Go's ParseFloat returns an error."""
    if text and _PLAIN_DECIMAL_CHARACTERS.issuperset(text):
        # Fast path: over these characters Python's float syntax is exactly Go's decimal syntax.
        try:
            value = float(text)
        except ValueError:
            return None
        return None if math.isinf(value) else value
    if _DECIMAL.fullmatch(text):
        value = float(text)
    elif _HEXADECIMAL.fullmatch(text):
        value = float.fromhex(text.replace("_", ""))
    elif _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    elif _NAN.fullmatch(text):
        return math.nan
    else:
        return None
    if math.isinf(value):
        return None  # a finite literal beyond float64: ErrRange
    return value


def parse_finite_float(text: str) -> float | None:
    value = parse_float(text)
    if value is None or not math.isfinite(value):
        return None
    return value


def _format_non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def format_fixed(value: float, decimals: int = 6) -> str:
    """Go's `%.Nf` (`%f` is N=6): correctly rounded, exact binary ties to even."""
    if not math.isfinite(value):
        return _format_non_finite(value)
    return f"{value:.{decimals}f}"


AVERAGE_SIGNIFICANT_DIGITS = 12
"""An average is a quotient: it may need more decimals than its values, but float sums carry
binary noise in the 16th-17th digit (more after thousands of additions); 12 keeps the mean and
drops the noise (20.075000000000003 -> 20.075)."""
SUM_SIGNIFICANT_DIGITS = 15
"""A sum of values with any number of decimals: every digit a float64 holds exactly."""


def presented_aggregate(value: float, function: str, round_decimal_point: int | None) -> float:
    """An aggregate as it is shown (API reads, CSV export), computed and stored unchanged.

    Min and Max are values the pipeline stored, and a Sum of values with N decimals has N
    decimals: with the pipeline's `round_decimal_point` they are rounded to it, which only
    removes float noise. An Avg keeps up to `AVERAGE_SIGNIFICANT_DIGITS` (20.095 stays 20.095)."""
    if not math.isfinite(value):
        return value
    if function == "Avg":
        return float(f"{value:.{AVERAGE_SIGNIFICANT_DIGITS}g}")
    if round_decimal_point is not None:
        return float(format_fixed(value, round_decimal_point))
    if function == "Sum":
        return float(f"{value:.{SUM_SIGNIFICANT_DIGITS}g}")
    return value
