"""Time as the pipelines use it: timezone-aware UTC datetimes with millisecond precision."""

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch (floored), computed exactly."""
    delta = moment - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_epoch_ms(epoch_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=epoch_ms)


def truncate_to_ms(moment: datetime) -> datetime:
    """Rows are stored with millisecond precision (`DateTime64(3)`), so the clock is too."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("the pipeline clock needs timezone-aware datetimes")
        moment = moment.astimezone(UTC)
    excess_us = moment.microsecond % 1000
    return moment.replace(microsecond=moment.microsecond - excess_us) if excess_us else moment


def format_utc_ms(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds, e.g. `2024-01-01T00:00:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """An ISO-8601 time with a zone (`Z` or an offset), as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone: add 'Z' or an offset like '+00:00'")
    return moment.astimezone(UTC)
