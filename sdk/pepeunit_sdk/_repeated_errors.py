"""Logging the exceptions of a loop without logging the same one on every round."""

from types import TracebackType

from ._logger import Logger

__all__ = ["RepeatedErrors"]


class RepeatedErrors:
    """Logs an exception raised in its block, unless it repeats the previous one unchanged."""

    def __init__(self, logger: Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self._last: str | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        _type: type[BaseException] | None,
        error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> bool:
        if error is None:
            self._last = None
            return False
        if not isinstance(error, Exception):
            return False
        text = f"{self._what}: {error!r}"
        if text != self._last:
            self._logger.error(text)
            self._last = text
        return True
