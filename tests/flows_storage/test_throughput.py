"""Throughput of the writers, printed for the record (not asserted: machines differ)."""

import time
from collections.abc import Callable

import pytest

from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.last_value_writer import LastValueWriter, newest_per_node
from flows.storage.node_value_updates import NodeValueUpdate, json_join_update, per_node_update
from pepeunit_core.stored_data.clickhouse_columns import columns_by_table
from pepeunit_core.stored_data.reads import read_n_records
from pipelines.rows import LastValueRow
from tests.flows_storage.builders import add_nodes, at, ingested, n_record, new_node

CLICKHOUSE_BATCH_ROWS = 10_000
CLICKHOUSE_BATCHES = 5
LAST_VALUE_NODES = 5_000


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[throughput] {line}", end="")


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def test_clickhouse_writer_on_chdb(clickhouse, capsys):
    nodes = [new_node() for _ in range(100)]
    batches = [
        [
            n_record(nodes[i % 100], batch * 100 + i / 1000, str(i), 50, batch * 10**6 + i)
            for i in range(CLICKHOUSE_BATCH_ROWS)
        ]
        for batch in range(CLICKHOUSE_BATCHES + 1)
    ]
    writer = ClickHouseWriter(clickhouse)
    writer.write(batches[0])  # the first INSERT into a table pays a one-off cost

    started = time.perf_counter()
    for batch in batches[1:]:
        writer.write(batch)
    elapsed = time.perf_counter() - started
    columns_s = best_seconds(lambda: columns_by_table(batches[1]), repeat=3)

    rows = CLICKHOUSE_BATCH_ROWS * CLICKHOUSE_BATCHES
    report(
        capsys,
        f"ClickHouseWriter on chdb: {rows / elapsed:,.0f} rows/s in {CLICKHOUSE_BATCH_ROWS:,}-row "
        f"batches ({elapsed / CLICKHOUSE_BATCHES * 1000:.1f} ms per batch, of which "
        f"{columns_s * 1000:.1f} ms building columns)",
    )
    assert len(read_n_records(clickhouse, nodes[0])) == 50


@pytest.mark.parametrize("sql_url", ["postgresql", "sqlite"], indirect=True)
def test_last_value_writer(session_factory, sql_url, capsys):
    nodes = add_nodes(session_factory, LAST_VALUE_NODES)
    step = iter(range(1, 1000))

    def batch() -> list[LastValueRow]:
        moment = at(next(step))
        return [LastValueRow(node, f"{index}", moment) for index, node in enumerate(nodes)]

    writer = LastValueWriter(session_factory)
    writer.write(ingested(batch()))
    write_s = best_seconds(lambda: writer.write(ingested(batch())), repeat=3)
    dialect = sql_url.split(":")[0].split("+")[0]
    report(
        capsys,
        f"LastValueWriter on {dialect}: {LAST_VALUE_NODES / write_s:,.0f} nodes/s "
        f"({LAST_VALUE_NODES:,} nodes per batch, {write_s * 1000:.0f} ms)",
    )

    if dialect == "postgresql":

        def run(make_update: Callable[..., NodeValueUpdate]) -> None:
            update = make_update(newest_per_node(batch()))
            with session_factory() as session, session.begin():
                assert update.run(session) == LAST_VALUE_NODES

        strategies = {"json join": json_join_update, "executemany": per_node_update}
        for name, make_update in strategies.items():
            seconds = best_seconds(lambda make_update=make_update: run(make_update), repeat=2)
            report(capsys, f"  UPDATE as {name}: {LAST_VALUE_NODES / seconds:,.0f} nodes/s")
