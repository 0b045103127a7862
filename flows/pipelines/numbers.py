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
