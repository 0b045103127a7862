"""LastValueWriter on SQLite and PostgreSQL: the newest value per node wins, a stored value is
never replaced by an older one, unknown nodes are skipped, and a failing UPDATE is retried."""

import threading
import time
from datetime import timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.exc import DataError

from flows.storage.last_value_writer import LastValueWriter
from flows.storage.metrics import StorageMetrics
from flows.storage.writer import WriteResult
from pepeunit_core.retry import BatchNotStoredError
from pepeunit_core.stored_data.reads import read_last_value
from pipelines.rows import LastValueRow
from tests.flows_storage.builders import FAST_RETRY, T0, add_nodes, at, ingested, new_node


def stored(session_factory, node: str) -> LastValueRow | None:
    with session_factory() as session:
        return read_last_value(session, node)


def counted(metrics: StorageMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(
        f"pepeunit_storage_{name}_total", {"table": "last_value", **labels}
    )


def test_newest_value_of_the_batch_wins(session_factory):
    first, second = add_nodes(session_factory, 2)
    writer = LastValueWriter(session_factory)

    result = writer.write(
        ingested(
            [
                LastValueRow(first, "newest", at(5)),
                LastValueRow(first, "older, later in the batch", at(1)),
                LastValueRow(second, "tie, earlier in the batch", at(2)),
                LastValueRow(second, "tie, later in the batch", at(2)),
            ]
        )
    )

    assert result == WriteResult(2, {"unknown_node": 0, "stale": 0, "superseded": 2})
    assert stored(session_factory, first) == LastValueRow(first, "newest", at(5))
    assert stored(session_factory, second) == LastValueRow(second, "tie, later in the batch", at(2))


def test_an_older_value_never_replaces_a_newer_one(session_factory):
    (node,) = add_nodes(session_factory, 1)
    metrics = StorageMetrics(CollectorRegistry())
    writer = LastValueWriter(session_factory, metrics)
    writer.write(ingested([LastValueRow(node, "new", at(10))]))

    late = writer.write(ingested([LastValueRow(node, "from a slower process", at(9))]))
    replay = writer.write(ingested([LastValueRow(node, "new", at(10))]))

    assert late == WriteResult(0, {"unknown_node": 0, "stale": 1, "superseded": 0})
    assert replay.stored == 1  # the same time: harmless
    assert stored(session_factory, node) == LastValueRow(node, "new", at(10))
    assert counted(metrics, "rows_ignored", reason="stale") == 1


def test_microseconds_and_other_zones_are_kept_exactly(session_factory):
    (node,) = add_nodes(session_factory, 1)
    moment = at(1) + timedelta(microseconds=123_457)

    LastValueWriter(session_factory).write(
        ingested([LastValueRow(node, "x", moment.astimezone(timezone(timedelta(hours=3))))])
    )

    value = stored(session_factory, node)
    assert value == LastValueRow(node, "x", moment)
    assert value.last_update_datetime.utcoffset() == timedelta(0)


def test_any_text_round_trips(session_factory):
    (node,) = add_nodes(session_factory, 1)
    text_value = 'ünïcödé ✓ 🌡 "quoted" \\ back\nslash\ttab'

    LastValueWriter(session_factory).write(ingested([LastValueRow(node, text_value, at(1))]))

    assert stored(session_factory, node) == LastValueRow(node, text_value, at(1))


def test_unknown_nodes_are_counted_and_skipped(session_factory):
    (node,) = add_nodes(session_factory, 1)
    metrics = StorageMetrics(CollectorRegistry())
    stranger = new_node()

    result = LastValueWriter(session_factory, metrics).write(
        ingested([LastValueRow(node, "1", at(1)), LastValueRow(stranger, "2", at(1))])
    )

    assert result == WriteResult(1, {"unknown_node": 1, "stale": 0, "superseded": 0})
    assert stored(session_factory, stranger) is None
    assert counted(metrics, "rows_ignored", reason="unknown_node") == 1
    assert counted(metrics, "rows_stored") == 1


def test_a_node_without_a_value_reads_as_none(session_factory):
    (node,) = add_nodes(session_factory, 1)

    assert stored(session_factory, node) is None


def test_interleaved_batches_from_two_writers_end_at_the_newest_values(session_factory):
    nodes = add_nodes(session_factory, 50)
    even = [LastValueRow(node, f"even {i}", at(i)) for i in range(0, 20, 2) for node in nodes]
    odd = [LastValueRow(node, f"odd {i}", at(i)) for i in range(1, 20, 2) for node in nodes]
    writers = [LastValueWriter(session_factory), LastValueWriter(session_factory)]

    for step in reversed(range(10)):  # newest first: every later batch is stale
        writers[0].write(ingested(even[step * 50 : (step + 1) * 50]))
        writers[1].write(ingested(odd[step * 50 : (step + 1) * 50]))

    assert {stored(session_factory, node).state for node in nodes} == {"odd 19"}


@pytest.fixture
def rename_nodes_table(session_factory):
    def rename(old: str, new: str) -> None:
        with session_factory() as session, session.begin():
            session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

    return rename


def test_write_in_progress_completes_once_the_table_is_back(session_factory, rename_nodes_table):
    (node,) = add_nodes(session_factory, 1)
    metrics = StorageMetrics(CollectorRegistry())
    writer = LastValueWriter(session_factory, metrics, FAST_RETRY)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            writer.write(ingested([LastValueRow(node, "kept through the outage", at(1))]))
        except BaseException as error:
            errors.append(error)

    rename_nodes_table("units_nodes", "units_nodes_away")
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()
    rename_nodes_table("units_nodes_away", "units_nodes")
    thread.join(timeout=5)

    assert not thread.is_alive() and errors == []
    assert stored(session_factory, node) == LastValueRow(node, "kept through the outage", at(1))
    assert counted(metrics, "write_failures") >= 3


def test_stop_makes_a_failing_write_give_up(session_factory, rename_nodes_table):
    (node,) = add_nodes(session_factory, 1)
    stops_after_two_failures: list[float] = []
    writer: LastValueWriter

    def sleep(seconds: float) -> None:
        stops_after_two_failures.append(seconds)
        if len(stops_after_two_failures) == 2:
            writer.stop()

    writer = LastValueWriter(session_factory, sleep=sleep)
    rename_nodes_table("units_nodes", "units_nodes_away")
    with pytest.raises(BatchNotStoredError, match="1 rows for last_value were NOT stored"):
        writer.write(ingested([LastValueRow(node, "lost", at(1))]))

    rename_nodes_table("units_nodes_away", "units_nodes")
    assert len(stops_after_two_failures) == 2
    assert stored(session_factory, node) is None


def test_naive_datetimes_are_refused_before_writing(session_factory):
    (node,) = add_nodes(session_factory, 1)

    with pytest.raises(ValueError, match="naive"):
        LastValueWriter(session_factory).write(
            ingested([LastValueRow(node, "x", T0.replace(tzinfo=None))])
        )


def test_a_value_the_database_cannot_hold_is_raised_at_once(session_factory, sql_url):
    if not sql_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL refuses NUL characters in text")
    (node,) = add_nodes(session_factory, 1)
    metrics = StorageMetrics(CollectorRegistry())

    with pytest.raises(DataError):
        LastValueWriter(session_factory, metrics).write(
            ingested([LastValueRow(node, "a\x00b", at(1))])
        )

    assert counted(metrics, "write_retries") == 0
    assert stored(session_factory, node) is None
