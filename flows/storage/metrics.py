"""Prometheus metrics of the storage writers."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

from pepeunit_core.retry import BatchNotStoredError, Retrier

T = TypeVar("T")

BATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60)


@dataclass
class StorageMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        registry = self.registry
        self.rows_stored = Counter(
            "pepeunit_storage_rows_stored",
            "Rows written to a table (last_value: node rows updated).",
            ["table"],
            registry=registry,
        )
        self.rows_ignored = Counter(
            "pepeunit_storage_rows_ignored",
            "Rows not written, by reason: unknown_node (no such node row), stale (the stored "
            "value is newer), superseded (a newer value for the node in the same batch).",
            ["table", "reason"],
            registry=registry,
        )
        self.write_failures = Counter(
            "pepeunit_storage_write_failures",
            "Failed write attempts (each is retried until it succeeds or the writer stops).",
            ["table"],
            registry=registry,
        )
        self.write_retries = Counter(
            "pepeunit_storage_write_retries",
            "Write attempts repeated after a failure.",
            ["table"],
            registry=registry,
        )
        self.batches_aborted = Counter(
            "pepeunit_storage_batches_aborted",
            "Batches given up because the writer was stopped while retrying.",
            ["table"],
            registry=registry,
        )
        self.batch_write_seconds = Histogram(
            "pepeunit_storage_batch_write_seconds",
            "Time to store one batch in one table, retries included.",
            ["table"],
            buckets=BATCH_SECONDS_BUCKETS,
            registry=registry,
        )


def metered_write(
    retrier: Retrier,
    metrics: StorageMetrics,
    table: str,
    rows: int,
    write: Callable[[], T],
) -> T:
    """Runs `write` through `retrier`, counting failures, retries, aborted batches and the
    time a batch took in `metrics` under `table`."""
    started = time.perf_counter()
    try:
        result = retrier.run(
            write,
            table=table,
            rows=rows,
            on_failure=metrics.write_failures.labels(table).inc,
            on_retry=metrics.write_retries.labels(table).inc,
        )
    except BatchNotStoredError:
        metrics.batches_aborted.labels(table).inc()
        raise
    metrics.batch_write_seconds.labels(table).observe(time.perf_counter() - started)
    return result
