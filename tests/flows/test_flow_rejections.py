"""Issue 12.11 end to end: messages a pipeline rejects are counted per node, with the last
reasons, by the running dataflow, and a user reads them through the API and the CLI. Issue
12.10: a node receiving values through its active pipeline reads Active, its config as YAML."""

import json
import time
from uuid import UUID

import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.security import make_user_token
from pepeunit_cli.main import main
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import UnitNode
from tests.control_plane.conftest import API, CHEAP_ARGON2, SECRET_KEY, auth, make_settings
from tests.flows.support import (
    Publisher,
    flow_settings,
    logged_messages,
    pipeline_config,
    running_flow,
    seed_nodes,
    wait_until,
)

CONFIGS = {
    "rate": pipeline_config({"policy_type": "LastValue"}, max_rate=600),
    "typed": pipeline_config({"policy_type": "NRecords", "n_records_count": 5}),
    "clean": pipeline_config({"policy_type": "LastValue"}),
}
SENT = {
    "rate": ["1", "2", "3", "4"],  # the first is stored, the others come too soon
    "typed": ["20.5", "warm", "21", "n/a"],
    "clean": ["7", "8"],
}
EXPECTED = {"rate": {"Filters.max_rate": 3}, "typed": {"Filters.not_a_number": 2}, "clean": {}}


def stored_counts(url: str, nodes: dict[str, str]) -> dict[str, int]:
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        return {
            name: session.get_one(UnitNode, UUID(node)).data_pipe_rejected_count
            for name, node in nodes.items()
        }


def test_rejections_per_node_through_the_api_and_the_cli(
    tmp_path, sql_url, clickhouse_database, mosquitto_server
):
    nodes = seed_nodes(sql_url, CONFIGS)
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port
    )
    publisher = Publisher(mosquitto_server.port)
    with running_flow(settings):
        sent = [
            publisher.publish(nodes[name], payload)
            for name, payloads in SENT.items()
            for payload in payloads
        ]
        for info in sent:
            info.wait_for_publish(timeout=10)
        publisher.close()
        wait_until(lambda: len(logged_messages(settings.data_dir)) == len(sent), 15)
        expected_counts = {name: sum(reasons.values()) for name, reasons in EXPECTED.items()}
        wait_until(lambda: stored_counts(sql_url, nodes) == expected_counts, 15)
        time.sleep(0.5)  # a batch counted twice would land within a flush interval
    assert stored_counts(sql_url, nodes) == expected_counts

    app = create_app(make_settings(sql_url), password_hasher=CHEAP_ARGON2)
    sessions = make_session_factory(make_engine(sql_url))
    with sessions() as session:
        owner = session.get_one(UnitNode, UUID(nodes["rate"])).creator_uuid
    headers = auth(make_user_token(owner, SECRET_KEY, 3600))
    with TestClient(app) as client:
        for name, reasons in EXPECTED.items():
            url = f"{API}/unit_nodes/get_data_pipe_rejections/{nodes[name]}"
            body = client.get(url, headers=headers).json()
            assert body["rejected_count"] == sum(reasons.values()), (name, body)
            assert body["rejected_by_reason"] == reasons, name
            assert len(body["last_rejections"]) == sum(reasons.values())
        typed = client.get(
            f"{API}/unit_nodes/get_data_pipe_rejections/{nodes['typed']}", headers=headers
        ).json()
        assert [entry["message"] for entry in typed["last_rejections"]] == [
            "'n/a': not a finite number, and type_input_value is Number",
            "'warm': not a finite number, and type_input_value is Number",
        ]
        times = [entry["received_datetime"] for entry in typed["last_rejections"]]
        assert times == sorted(times, reverse=True)
        assert client.get(
            f"{API}/unit_nodes/get_data_pipe_rejections/{nodes['typed']}"
        ).status_code == 403  # fmt: skip

        node = client.get(f"{API}/unit_nodes/{nodes['typed']}", headers=headers).json()
        assert node["state"] is None  # NRecords values go to ClickHouse
        assert (node["data_pipe_status"], node["data_pipe_error"]) == ("Active", None)
        config = yaml.safe_load(node["data_pipe_yml"])
        assert config["processing_policy"] == {"policy_type": "NRecords", "n_records_count": 5}

    runner = CliRunner()
    environment = {"PU_SQLALCHEMY_DATABASE_URL": sql_url}
    result = runner.invoke(main, ["pipelines", "rejections"], env=environment)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"flowunit/rate/pepeunit ({nodes['rate']}): 3 rejected (Filters.max_rate 3)" in lines
    assert (
        f"flowunit/typed/pepeunit ({nodes['typed']}): 2 rejected (Filters.not_a_number 2)" in lines
    )
    assert not any("clean" in line for line in lines)
    assert sum("Filters.max_rate: '" in line for line in lines) == 3

    result = runner.invoke(
        main, ["pipelines", "rejections", "--format", "json", nodes["rate"], nodes["clean"]],
        env=environment,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = {item["topic_name"]: item for item in map(json.loads, result.stdout.splitlines())}
    assert shown["rate/pepeunit"]["rejected_count"] == 3
    assert [entry["message"][:4] for entry in shown["rate/pepeunit"]["last_rejections"]] == [
        "'4':", "'3':", "'2':"
    ]  # fmt: skip
    assert shown["clean/pepeunit"]["rejected_count"] == 0
