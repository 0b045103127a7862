"""A backup taken while the dataflow stores a steady stream
(docs/operations.md#backup-and-restore): ingest goes on and loses nothing, and the archive
holds a part of the stream, every row of it as the running instance stored it."""

import threading
import time
from pathlib import Path

from pepeunit_core.backup import create_backup
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.models import UnitNode
from tests.flows.support import (
    Publisher,
    flow_settings,
    pipeline_config,
    running_flow,
    seed_nodes,
    wait_until,
)
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.mosquitto import MosquittoServer

from .dump_stores import dump_clickhouse, dump_sql
from .test_round_trip import dump_in_process, run_cli

MESSAGES = 3000
PER_SECOND = 600
STATE = [column.name for column in UnitNode.__table__.columns].index("state")
"""Where a node's LastValue is in a dumped `units_nodes` row."""


def stored_states(rows: list[list[str]], node: str) -> dict[str, list[str]]:
    return {row[1]: row for row in rows if row[0] == node}


def test_a_backup_while_messages_flow_loses_nothing(
    tmp_path: Path, clickhouse_database: ClickHouseDatabase, mosquitto_server: MosquittoServer
):
    sql_url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    window = pipeline_config({"policy_type": "TimeWindow", "time_window_size": 86400})
    last = pipeline_config({"policy_type": "LastValue"})
    nodes = seed_nodes(sql_url, {"window": window, "last": last})
    apply_clickhouse_migrations(clickhouse_database.client)
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port
    )
    publisher = Publisher(mosquitto_server.port, client_id="backup-publisher")
    published = threading.Event()

    def publish() -> None:
        started = time.monotonic()
        for index in range(MESSAGES):
            publisher.publish(nodes["window"], str(index))
            publisher.publish(nodes["last"], str(index))
            time.sleep(max(0.0, started + (index + 1) / PER_SECOND - time.monotonic()))
        published.set()

    archive = tmp_path / "backup.tar"
    with running_flow(settings):
        stream = threading.Thread(target=publish, name="publisher")
        stream.start()
        wait_until(lambda: _count(clickhouse_database, nodes["window"]) >= MESSAGES // 5, 30)
        create_backup(settings, archive, chunk_rows=500)
        assert not published.is_set(), "the stream ended before the backup did"
        stream.join(timeout=30)
        publisher.close()
        wait_until(lambda: _count(clickhouse_database, nodes["window"]) == MESSAGES, 30)
        time.sleep(0.5)  # the LastValue batch
    live = stored_states(
        dump_clickhouse(clickhouse_database.client)["window_entry"], nodes["window"]
    )
    assert sorted(live, key=int) == [str(index) for index in range(MESSAGES)]
    last_value = {row[0]: row for row in dump_sql(sql_url)["units_nodes"]}[nodes["last"]]

    target = tmp_path / "target"
    restored = run_cli("restore", str(archive), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    stores = dump_in_process(target)
    archived = stored_states(stores["clickhouse"]["window_entry"], nodes["window"])
    assert MESSAGES // 5 <= len(archived) < MESSAGES
    assert all(live[state] == row for state, row in archived.items())
    archived_last = {row[0]: row for row in stores["sql"]["units_nodes"]}[nodes["last"]]
    assert archived_last[STATE] is not None  # a value the stream had reached by then
    assert int(archived_last[STATE]) <= int(last_value[STATE]) == MESSAGES - 1


def _count(database: ClickHouseDatabase, node: str) -> int:
    return int(
        database.client.command(
            "SELECT count() FROM window_entry FINAL WHERE unit_node_uuid = {node:UUID}",
            parameters={"node": node},
        )
    )
