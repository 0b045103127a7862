"""ClickHouseWriter when ClickHouse fails for real (a table renamed away): it retries with
back-off until the table is back, stores every row once, and gives up only when stopped."""

import threading
import time
from collections.abc import Callable

import pytest
from clickhouse_connect.driver.exceptions import DataError
from prometheus_client import CollectorRegistry

from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.metrics import StorageMetrics
from pepeunit_core.retry import BatchNotStoredError, RetryPolicy
from pepeunit_core.stored_data.reads import read_n_records, read_time_window
from tests.flows_storage.builders import (
    FAST_RETRY,
    n_record,
    new_node,
    physical_rows,
    recent,
    window_record,
)

AWAY = "_renamed_away"


def rename_away(client, table: str) -> None:
    client.command(f"RENAME TABLE {table} TO {table}{AWAY}")


def bring_back(client, table: str) -> None:
    client.command(f"RENAME TABLE {table}{AWAY} TO {table}")


def sample(metrics: StorageMetrics, name: str, table: str) -> float | None:
    return metrics.registry.get_sample_value(f"pepeunit_storage_{name}_total", {"table": table})


def in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_backs_off_while_the_table_is_missing_then_stores_the_batch_once(clickhouse):
    node = new_node()
    batch = [n_record(node, i, str(i), cap=10, ingest_id=i) for i in range(3)]
    metrics = StorageMetrics(CollectorRegistry())
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            bring_back(clickhouse, "n_last_entry")

    rename_away(clickhouse, "n_last_entry")
    ClickHouseWriter(clickhouse, metrics, RetryPolicy(jitter=0), sleep=sleep).write(batch)

    assert delays == pytest.approx([0.1, 0.2, 0.4])
    assert read_n_records(clickhouse, node) == [record.row for record in batch]
    assert sample(metrics, "write_failures", "n_last_entry") == 3
    assert sample(metrics, "write_retries", "n_last_entry") == 3
    assert sample(metrics, "rows_stored", "n_last_entry") == 3


def test_write_in_progress_completes_once_the_table_is_back(clickhouse):
    node, now = new_node(), recent()
    records = [n_record(node, i, str(i), cap=10, ingest_id=i) for i in range(3)]
    windows = [window_record(node, now, str(i), 600, ingest_id=10 + i) for i in range(3)]
    metrics = StorageMetrics(CollectorRegistry())
    writer = ClickHouseWriter(clickhouse, metrics, FAST_RETRY)

    rename_away(clickhouse, "window_entry")
    thread, errors = in_thread(lambda: writer.write(records + windows))
    time.sleep(0.3)
    assert thread.is_alive()
    bring_back(clickhouse, "window_entry")
    thread.join(timeout=5)

    assert not thread.is_alive() and errors == []
    assert read_n_records(clickhouse, node) == [record.row for record in records]
    assert read_time_window(clickhouse, node, now) == [window.row for window in windows]
    assert sample(metrics, "write_failures", "window_entry") >= 3
    assert sample(metrics, "write_failures", "n_last_entry") == 0


def test_stop_makes_a_failing_write_give_up_with_an_error(clickhouse):
    node = new_node()
    batch = [n_record(node, 0, "x", cap=10, ingest_id=1)]
    metrics = StorageMetrics(CollectorRegistry())
    # Long pauses: stop() must also cut the pause short.
    writer = ClickHouseWriter(clickhouse, metrics, RetryPolicy(initial_delay_s=10, max_delay_s=10))

    rename_away(clickhouse, "n_last_entry")
    thread, errors = in_thread(lambda: writer.write(batch))
    time.sleep(0.2)
    stopped_at = time.monotonic()
    writer.stop()
    thread.join(timeout=5)

    assert time.monotonic() - stopped_at < 1
    assert len(errors) == 1 and isinstance(errors[0], BatchNotStoredError)
    assert "1 rows for n_last_entry were NOT stored" in str(errors[0])
    assert sample(metrics, "batches_aborted", "n_last_entry") == 1
    assert sample(metrics, "rows_stored", "n_last_entry") is None
    bring_back(clickhouse, "n_last_entry")
    assert read_n_records(clickhouse, node) == []


def test_a_stopped_writer_still_tries_once(clickhouse):
    node = new_node()
    writer = ClickHouseWriter(clickhouse, retry=FAST_RETRY)
    writer.stop()

    writer.write([n_record(node, 0, "flushed on shutdown", cap=10, ingest_id=1)])
    rename_away(clickhouse, "n_last_entry")
    with pytest.raises(BatchNotStoredError):
        writer.write([n_record(node, 1, "lost", cap=10, ingest_id=2)])

    bring_back(clickhouse, "n_last_entry")
    assert [row.state for row in read_n_records(clickhouse, node)] == ["flushed on shutdown"]


@pytest.mark.parametrize(
    ("bad_record", "error"),
    [
        (n_record("not-a-uuid", 0, "x", cap=5, ingest_id=1), ValueError),
        (n_record(new_node(), 0, "x", cap=-1, ingest_id=1), DataError),
    ],
)
def test_a_row_the_driver_cannot_encode_is_raised_at_once(clickhouse, bad_record, error):
    metrics = StorageMetrics(CollectorRegistry())

    with pytest.raises(error):
        ClickHouseWriter(clickhouse, metrics).write([bad_record])

    assert sample(metrics, "write_retries", "n_last_entry") == 0
    assert physical_rows(clickhouse, "n_last_entry") == 0
