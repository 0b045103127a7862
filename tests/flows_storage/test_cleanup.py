"""Clean-up removes what readers no longer see, and nothing they do, even beside inserts."""

import threading
from datetime import timedelta

import clickhouse_connect

from flows.storage.cleanup import delete_expired_window_rows, enforce_n_records_cap
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_core.stored_data.reads import read_n_records, read_time_window
from tests.flows_storage.builders import n_record, new_node, physical_rows, recent, window_record


def stored_ingest_ids(client) -> set[int]:
    """Of every stored copy of every row, merged or not."""
    rows = client.query("SELECT ingest_id FROM n_last_entry").result_rows
    return {ingest_id for (ingest_id,) in rows}


def test_n_records_cap_deletes_rows_beyond_each_nodes_newest_n(clickhouse):
    capped, roomy = new_node(), new_node()
    batch = [n_record(capped, i, f"c{i}", cap=3, ingest_id=i) for i in range(6)]
    batch += [n_record(roomy, i, f"r{i}", cap=10, ingest_id=100 + i) for i in range(4)]
    writer = ClickHouseWriter(clickhouse)
    writer.write(batch)
    writer.write(batch)  # replayed: every row stored twice until merged
    before = {node: read_n_records(clickhouse, node) for node in (capped, roomy)}

    assert enforce_n_records_cap(clickhouse) == 3

    assert stored_ingest_ids(clickhouse) == {3, 4, 5, 100, 101, 102, 103}  # every copy
    assert {node: read_n_records(clickhouse, node) for node in (capped, roomy)} == before
    assert enforce_n_records_cap(clickhouse) == 0


def test_n_records_cap_uses_the_newest_rows_max_count(clickhouse):
    node = new_node()
    writer = ClickHouseWriter(clickhouse)
    writer.write([n_record(node, i, f"v{i}", cap=5, ingest_id=i) for i in range(5)])
    writer.write([n_record(node, 5, "v5", cap=2, ingest_id=5)])

    assert enforce_n_records_cap(clickhouse) == 4

    assert [row.state for row in read_n_records(clickhouse, node)] == ["v4", "v5"]
    assert physical_rows(clickhouse, "n_last_entry") == 2


def test_n_records_cap_beside_concurrent_inserts_keeps_the_newest_n(
    clickhouse, clickhouse_database
):
    nodes = [new_node() for _ in range(3)]
    cap, batches, per_batch = 5, 20, 6
    inserter = clickhouse_connect.get_client(dsn=clickhouse_database.dsn)
    errors: list[BaseException] = []
    cleaned_once = threading.Event()

    def insert_newer_rows() -> None:
        try:
            writer = ClickHouseWriter(inserter)
            for batch in range(batches):
                if batch == batches // 2:  # make sure clean-ups overlap the inserts
                    cleaned_once.wait(timeout=10)
                first = batch * per_batch
                writer.write(
                    [
                        n_record(node, first + i, f"{batch}.{i}", cap, ingest_id=first + i)
                        for node in nodes
                        for i in range(per_batch)
                    ]
                )
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=insert_newer_rows)
    thread.start()
    cleanups = 0
    try:
        while thread.is_alive():
            cleanups += 1
            enforce_n_records_cap(clickhouse)
            cleaned_once.set()
            for node in nodes:
                assert len(read_n_records(clickhouse, node)) <= cap
    finally:
        thread.join()
        inserter.close()
    enforce_n_records_cap(clickhouse)

    assert errors == []
    assert cleanups >= 1
    newest = [f"{batches - 1}.{i}" for i in range(per_batch - cap, per_batch)]
    for node in nodes:
        assert [row.state for row in read_n_records(clickhouse, node)] == newest
    assert physical_rows(clickhouse, "n_last_entry") == cap * len(nodes)


def test_expired_window_rows_are_deleted_and_others_kept(clickhouse):
    node, now = new_node(), recent()
    rows = [
        window_record(node, now, "30 s", window_s=30, ingest_id=1),
        window_record(node, now, "60 s", window_s=60, ingest_id=2),
        window_record(node, now, "1 h", window_s=3600, ingest_id=3),
    ]
    writer = ClickHouseWriter(clickhouse)
    writer.write(rows)
    writer.write(rows[:1])
    sixty_s_expiry = rows[1].row.expiration_datetime

    assert delete_expired_window_rows(clickhouse, sixty_s_expiry - timedelta(milliseconds=1)) == 1
    assert physical_rows(clickhouse, "window_entry") == 2
    assert delete_expired_window_rows(clickhouse, sixty_s_expiry) == 1
    assert physical_rows(clickhouse, "window_entry") == 1
    assert read_time_window(clickhouse, node, now) == [rows[2].row]
    assert delete_expired_window_rows(clickhouse, sixty_s_expiry) == 0
