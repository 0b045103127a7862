"""The `filters` stage, in the reference order: list, threshold, max_rate, max_size,
last_unique_check. Under `Number` a payload that is not a finite number is rejected first
(docs/compatibility.md#number-means-a-finite-number); `last_unique_check` compares with the last
accepted *raw* payload (docs/compatibility.md#duplicate-check-on-raw-payloads).
"""

from dataclasses import dataclass
from datetime import datetime

from pipelines import rejections
from pipelines.clock import from_epoch_ms, to_epoch_ms
from pipelines.config import Filters, TypeInputValue, TypeValueFiltering, TypeValueThreshold
from pipelines.numbers import parse_finite_float, parse_float
from pipelines.rejections import Rejection

_MAX_UTF8_BYTES_PER_CHAR = 4


@dataclass(slots=True)
class FilterMemory:
    """Per-node memory of the last accepted message; changed only when a message is stored."""

    last_accepted_ms: int | None = None
    """Receive time (epoch ms) of the last accepted message."""
    last_accepted_raw: str | None = None

    @property
    def last_accepted_at(self) -> datetime | None:
        ms = self.last_accepted_ms
        return None if ms is None else from_epoch_ms(ms)

    @last_accepted_at.setter
    def last_accepted_at(self, moment: datetime | None) -> None:
        # Also how a snapshot pickled before the millisecond clock (the slot was this datetime)
        # loads: unpickling sets slots by name.
        self.last_accepted_ms = None if moment is None else to_epoch_ms(moment)


class CompiledFilters:
    """A `Filters` config turned into the checks it implies, ready for the hot path."""

    __slots__ = (
        "_black_list",
        "_check_unique",
        "_is_number",
        "_max_rate_ms",
        "_max_size",
        "_text_list",
        "_threshold_max",
        "_threshold_min",
        "_white_list",
    )

    def __init__(self, filters: Filters) -> None:
        self._is_number = filters.type_input_value is TypeInputValue.NUMBER
        listed = filters.filtering_values or []
        entries: frozenset[object]
        if self._is_number:
            entries = frozenset(float(v) for v in listed if not isinstance(v, str))
        else:
            entries = frozenset(v for v in listed if isinstance(v, str))
        self._white_list = (
            entries if filters.type_value_filtering is TypeValueFiltering.WHITE_LIST else None
        )
        self._black_list = (
            entries if filters.type_value_filtering is TypeValueFiltering.BLACK_LIST else None
        )
        self._text_list = not self._is_number
        threshold = filters.type_value_threshold
        uses_min = threshold in (TypeValueThreshold.MIN, TypeValueThreshold.RANGE)
        uses_max = threshold in (TypeValueThreshold.MAX, TypeValueThreshold.RANGE)
        self._threshold_min = filters.threshold_min if uses_min else None
        self._threshold_max = filters.threshold_max if uses_max else None
        self._max_rate_ms = filters.max_rate * 1000 if filters.max_rate > 0 else None
        self._max_size = filters.max_size
        self._check_unique = filters.last_unique_check

    def check(self, raw: str, now_ms: int, memory: FilterMemory) -> Rejection | None:
        """The first rule `raw` breaks at `now_ms` (epoch ms), or None when it passes every
        filter."""
        number: float | None = None
        if self._is_number:
            number = parse_finite_float(raw)
            if number is None:
                return rejections.NOT_A_NUMBER
        if self._white_list is not None or self._black_list is not None:
            in_list = (raw if self._text_list else number) in (
                self._white_list if self._white_list is not None else self._black_list
            )
            if self._white_list is not None and not in_list:
                return rejections.NOT_IN_WHITE_LIST
            if self._black_list is not None and in_list:
                return rejections.IN_BLACK_LIST
        if self._threshold_min is not None or self._threshold_max is not None:
            value = number if number is not None else parse_float(raw)
            if value is not None and (
                (self._threshold_min is not None and value < self._threshold_min)
                or (self._threshold_max is not None and value > self._threshold_max)
            ):
                return rejections.OUTSIDE_THRESHOLD
        if (
            self._max_rate_ms is not None
            and memory.last_accepted_ms is not None
            and now_ms - memory.last_accepted_ms < self._max_rate_ms
        ):
            return rejections.MAX_RATE
        if self._max_size > 0 and _utf8_length_exceeds(raw, self._max_size):
            return rejections.MAX_SIZE
        if self._check_unique and raw == memory.last_accepted_raw:
            return rejections.DUPLICATE
        return None


def _utf8_length_exceeds(text: str, limit: int) -> bool:
    if len(text) * _MAX_UTF8_BYTES_PER_CHAR <= limit:
        return False
    if len(text) > limit:
        return True
    return len(text.encode("utf-8")) > limit
