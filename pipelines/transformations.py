"""The `transformations` stage with the reference formatting.

Number: multiplication gives Go's `%f` (always 6 decimals), rounding gives `%.Nf` (correctly
rounded). Text: Python slicing on the UTF-8 bytes; a character cut in half at either end is
dropped, so the stored text stays valid UTF-8 (the reference stores broken bytes there).
"""

import math

from pipelines.config import Transformations, TypeInputValue
from pipelines.numbers import format_fixed, parse_float


class CompiledTransformations:
    __slots__ = ("_is_number", "_ratio", "_round", "_slice", "_slicing")

    def __init__(self, transformations: Transformations, type_input_value: TypeInputValue) -> None:
        self._is_number = type_input_value is TypeInputValue.NUMBER
        self._ratio = transformations.multiplication_ratio
        self._round = transformations.round_decimal_point
        self._slicing = (
            transformations.slice_start is not None or transformations.slice_end is not None
        )
        self._slice = slice(transformations.slice_start, transformations.slice_end)

    def apply(self, value: str) -> str | None:
        """The transformed value; None when a number became infinite (it is not stored)."""
        if self._is_number:
            return self._apply_to_number(value)
        if not self._slicing:
            return value
        if value.isascii():
            return value[self._slice]
        return value.encode("utf-8")[self._slice].decode("utf-8", errors="ignore")

    def _apply_to_number(self, value: str) -> str | None:
        if self._ratio is not None:
            number = parse_float(value)
            if number is None:
                return value  # the reference leaves it unchanged and skips rounding too
            product = number * self._ratio
            if not math.isfinite(product):
                return None
            value = format_fixed(product)
        if self._round is not None:
            number = parse_float(value)
            if number is not None:
                value = format_fixed(number, self._round)
        return value
