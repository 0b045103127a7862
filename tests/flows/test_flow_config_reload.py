"""A config change applied with `pipelines apply` reaches the running flow within 2 s."""

import time
from pathlib import Path

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.pipeline_store import apply_pipeline_files
from pepeunit_core.stored_data.reads import read_n_records
from pipelines.binding import Binding
from pipelines.files import PipelineFile
from tests.flows.support import (
    Publisher,
    flow_settings,
    pipeline_config,
    running_flow,
    seed_nodes,
    wait_until,
)


def records_with_white_list(*values: str):
    return pipeline_config(
        {"policy_type": "NRecords", "n_records_count": 1024},
        type_input_value="Text",
        type_value_filtering="WhiteList",
        filtering_values=list(values),
    )


def test_applied_change_takes_effect_within_two_seconds(
    tmp_path, sql_url, clickhouse_database, mosquitto_server
):
    nodes = seed_nodes(sql_url, {"door": records_with_white_list("old")})
    node = nodes["door"]
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port,
        flow_config_poll_interval=1.0,
    )  # fmt: skip
    sessions = make_session_factory(make_engine(sql_url))
    publisher = Publisher(mosquitto_server.port)
    with running_flow(settings):
        publisher.publish(node, "old").wait_for_publish(5)
        publisher.publish(node, "new").wait_for_publish(5)
        wait_until(lambda: len(read_n_records(clickhouse_database.client, node)) == 1, 10)

        new_file = PipelineFile(
            Path("door.yaml"), Binding(node=node), records_with_white_list("new")
        )
        with sessions() as session:
            report = apply_pipeline_files(session, [new_file])
            session.commit()
        committed = time.time()
        assert [change.kind.value for change in report.changes] == ["updated"]

        # publish "new" every 50 ms: the first one stored shows when the change took effect
        while time.time() - committed < 3:
            publisher.publish(node, "new")
            time.sleep(0.05)
        wait_until(lambda: len(read_n_records(clickhouse_database.client, node)) > 1, 10)
    publisher.close()

    stored = read_n_records(clickhouse_database.client, node)
    assert stored[0].state == "old"
    first_new = stored[1]
    assert first_new.state == "new"
    delay = first_new.create_datetime.timestamp() - committed
    print(f"config change took effect {delay:.2f} s after the commit")
    assert delay <= 2.0, f"the new config applied {delay:.2f} s after the commit"
