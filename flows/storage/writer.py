"""The one interface of a storage writer, as the dataflow's sink uses it: a writer names the
tables whose rows it stores, stores a batch of them (retrying until it succeeds) and says how
many rows it stored and why it left the others out."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

from flows.storage.metrics import StorageMetrics
from pepeunit_core.stored_data.rows import IngestedRow

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: int
    """Rows written (for the SQL writers: node or unit rows updated, events inserted)."""
    ignored: Mapping[str, int] = field(default_factory=dict)
    """Rows not written, by reason (`unknown_node`, `stale`, ...), as the metrics count them."""


class StorageWriter(Protocol):
    tables: ClassVar[frozenset[str]]
    """The tables (`row.table`) whose rows this writer stores."""

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores a batch of rows of its tables, retrying until it succeeds.

        Raises BatchNotStoredError if `stop()` is called while the write keeps failing, and the
        error itself if retrying cannot help (a value the store refuses)."""
        ...

    def stop(self) -> None:
        """Makes a write that is failing give up (from any thread), e.g. on shutdown."""
        ...


def rows_of(rows: Sequence[IngestedRow], kind: type[R]) -> list[R]:
    """The rows of a batch for a writer that stores rows of `kind` only; any other row is a
    routing mistake, refused rather than dropped unseen."""
    found: list[R] = []
    for item in rows:
        if not isinstance(item.row, kind):
            raise TypeError(f"a {type(item.row).__name__} row reached the {kind.__name__} writer")
        found.append(item.row)
    return found


def count_result(metrics: StorageMetrics, table: str, result: WriteResult) -> WriteResult:
    """Adds the result to the table's stored and ignored counters; returns it."""
    metrics.rows_stored.labels(table).inc(result.stored)
    for reason, count in result.ignored.items():
        metrics.rows_ignored.labels(table, reason).inc(count)
    return result
