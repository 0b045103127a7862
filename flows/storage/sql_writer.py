"""What the SQL database writers share: sessions, metrics, and retries for the errors the
database may heal, which `stop()` (from any thread) makes give up, e.g. on shutdown."""

from collections.abc import Callable

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from flows.storage.metrics import StorageMetrics
from pepeunit_core.retry import DEFAULT_RETRY, Retrier, RetryPolicy


def database_may_heal(error: Exception) -> bool:
    """Errors worth retrying: the database or the connection failed, not the data (a value
    the column cannot hold, a broken constraint), and not our own code."""
    return isinstance(error, DBAPIError) and not isinstance(error, DataError | IntegrityError)


class SqlWriter:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        metrics: StorageMetrics | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._metrics = metrics if metrics is not None else StorageMetrics()
        self._retrier = Retrier(retry, database_may_heal, sleep)

    def stop(self) -> None:
        """Makes a write that is failing give up (from any thread), e.g. on shutdown."""
        self._retrier.stop()
