"""The flow's periodic clean-up removes NRecords rows beyond N and expired window rows."""

import time

from flows.janitor import StorageJanitor
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from tests.flows_storage.builders import n_record, new_node, physical_rows, recent, window_record


def test_clean_up_runs_periodically_and_removes_what_readers_no_longer_see(clickhouse_database):
    client = clickhouse_database.client
    apply_clickhouse_migrations(client)
    node, other = new_node(), new_node()
    writer = ClickHouseWriter(client)
    writer.write([n_record(node, second, str(second), 3, second) for second in range(10)])
    writer.write([n_record(other, second, str(second), 20, 100 + second) for second in range(5)])
    created = recent(-120)
    writer.write([window_record(node, created, "old", 60, 1000)])
    writer.write([window_record(node, recent(), "fresh", 60, 1001)])
    assert physical_rows(client, "n_last_entry") == 15

    janitor = StorageJanitor(lambda: client, interval_s=0.2)
    janitor.start()
    try:
        deadline = time.monotonic() + 10
        while physical_rows(client, "n_last_entry") != 3 + 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        janitor.stop()
    assert physical_rows(client, "n_last_entry", [node]) == 3
    assert physical_rows(client, "n_last_entry", [other]) == 5
    assert physical_rows(client, "window_entry") == 1
