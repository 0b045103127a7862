"""DataPipe routes of `/unit_nodes` over HTTP, on SQLite and PostgreSQL with real chdb: who may
call what, config check/set/get, reads per policy (N and expiry honoured), CSV export and
import, delete, and bad input (a 4xx with a detail, never a 500)."""

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from control_plane.security import make_unit_token, make_user_token
from control_plane.services.nodes import pipelines as node_pipelines
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.models import DataflowConfigVersion, UnitNode
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.engine import NodeMemory, Pipeline
from pipelines.rows import AggregationRow, NRecordsRow, Row, TimeWindowRow
from pipelines.validation import validate_config
from tests.flows.support import pipeline_config, seed_nodes
from tests.services.clickhouse import ClickHouseDatabase

from .conftest import API, SECRET_KEY, Actors, auth, make_settings

NODES = f"{API}/unit_nodes"
POLICIES = {
    "nrec": {"policy_type": "NRecords", "n_records_count": 3},
    "window": {"policy_type": "TimeWindow", "time_window_size": 60},
    "agg": {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Avg"},
    "last": {"policy_type": "LastValue"},
}
VALID_YAML = """
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 32}
processing_policy: {policy_type: NRecords, n_records_count: 5}
"""


@pytest.fixture
def settings(database_url: str, clickhouse_database: ClickHouseDatabase) -> Settings:
    """The conftest's settings, on this test's chdb database (chdb allows one path a process)."""
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(database_url, clickhouse_database_url=clickhouse_database.dsn)


@dataclass(frozen=True)
class Pipes:
    nodes: dict[str, str]
    headers: dict[str, dict[str, str | bytes]]
    """anonymous, bob (another user), other_unit, owner, own_unit."""
    writer: ClickHouseWriter

    def write(self, rows: list[Row]) -> None:
        self.writer.write([IngestedRow(number, row) for number, row in enumerate(rows, 1)])


@pytest.fixture
def pipes(
    actors: Actors, app: FastAPI, database_url: str, clickhouse_database: ClickHouseDatabase
) -> Pipes:
    configs = {name: pipeline_config(policy) for name, policy in POLICIES.items()}
    nodes = seed_nodes(database_url, configs)
    with app.state.context.session_factory() as session:
        node = session.get_one(UnitNode, UUID(nodes["nrec"]))
        owner, unit = node.creator_uuid, node.unit_uuid
    assert owner is not None
    headers = {
        "anonymous": {},
        "bob": actors.headers["bob"],
        "other_unit": actors.headers["unit"],
        "owner": auth(make_user_token(owner, SECRET_KEY, 3600)),
        "own_unit": auth(make_unit_token(unit, SECRET_KEY)),
    }
    return Pipes(nodes, headers, ClickHouseWriter(clickhouse_database.client))


def ago(seconds: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds)


def n_row(node: str, state: str, seconds_ago: int, cap: int = 3) -> NRecordsRow:
    return NRecordsRow(node, state, "Number", ago(seconds_ago), cap, len(state))


def window_row(node: str, state: str, seconds_ago: int) -> TimeWindowRow:
    created = ago(seconds_ago)
    return TimeWindowRow(
        node, state, "Number", created, created + timedelta(seconds=60), len(state)
    )


def agg_row(node: str, state: float, function: str, end: datetime) -> AggregationRow:
    return AggregationRow(node, state, function, 60, end, end - timedelta(seconds=60), end)


def upload(text: str | bytes, name: str = "data.yaml") -> dict[str, Any]:
    return {"data": (name, text)}


def read(client: TestClient, pipes: Pipes, node: str, **params: Any) -> dict:
    response = client.get(
        f"{NODES}/get_data_pipe_data/",
        params={"uuid": pipes.nodes[node], **params},
        headers=pipes.headers["owner"],
    )
    assert response.status_code == 200, response.text
    return response.json()


Call = Callable[[TestClient, dict[str, str]], httpx.Response]
EVERYONE = {"anonymous", "bob", "other_unit", "owner", "own_unit"}
READERS = {"owner", "own_unit"}


def route_table(nodes: dict[str, str]) -> dict[str, tuple[Call, set[str], int]]:
    nrec = nodes["nrec"]
    return {
        "check": (
            lambda c, h: c.post(
                f"{NODES}/check_data_pipe_config", files=upload(VALID_YAML), headers=h
            ),
            EVERYONE,
            200,
        ),
        "set_config": (
            lambda c, h: c.post(
                f"{NODES}/set_data_pipe_config",
                params={"uuid": nrec},
                files=upload(VALID_YAML),
                headers=h,
            ),
            {"owner"},
            204,
        ),
        "get_config": (
            lambda c, h: c.get(f"{NODES}/get_data_pipe_config/{nrec}", headers=h),
            READERS,
            200,
        ),
        "get_data": (
            lambda c, h: c.get(
                f"{NODES}/get_data_pipe_data/", params={"uuid": nrec, "type": "NRecords"}, headers=h
            ),
            READERS,
            200,
        ),
        "get_csv": (
            lambda c, h: c.get(f"{NODES}/get_data_pipe_data_csv/{nrec}", headers=h),
            READERS,
            200,
        ),
        "set_csv": (
            lambda c, h: c.post(
                f"{NODES}/set_data_pipe_data_csv",
                params={"uuid": nrec},
                files=upload("state,create_datetime\n1,2024-01-01 00:00:00\n", "data.csv"),
                headers=h,
            ),
            {"owner"},
            204,
        ),
        "delete": (
            lambda c, h: c.delete(f"{NODES}/delete_data_pipe_data/{nrec}", headers=h),
            {"owner"},
            204,
        ),
    }


def test_only_allowed_agents_pass(client: TestClient, pipes: Pipes):
    # Refused calls change nothing, so one instance serves every route; allowed agents go last.
    for route, (call, allowed, success) in route_table(pipes.nodes).items():
        for agent in sorted(EVERYONE, key=lambda name: name in allowed):
            response = call(client, pipes.headers[agent])
            if agent in allowed:
                assert response.status_code == success, (route, agent, response.text)
            else:
                assert response.status_code == 403, (route, agent, response.text)
                assert response.json()["detail"].startswith("403: 1: No Access: "), agent


def test_missing_node_is_404(client: TestClient, pipes: Pipes):
    owner = pipes.headers["owner"]
    missing = str(uuid4())
    assert client.get(f"{NODES}/get_data_pipe_config/{missing}", headers=owner).status_code == 404
    response = client.get(
        f"{NODES}/get_data_pipe_data/", params={"uuid": missing, "type": "NRecords"}, headers=owner
    )
    assert response.status_code == 404


def test_check_config_lists_issues_and_refuses_bad_uploads(client: TestClient, settings: Settings):
    url = f"{NODES}/check_data_pipe_config"
    assert client.post(url, files=upload(VALID_YAML)).json() == []
    bad = VALID_YAML.replace("n_records_count: 5", "n_records_count: 0").replace(
        "max_rate: 0", "max_rate: -1"
    )
    issues = client.post(url, files=upload(bad)).json()
    assert {issue["stage"] for issue in issues} == {"Filters", "ProcessingPolicy"}
    assert all(set(issue) == {"stage", "message", "field"} for issue in issues)
    # The message names the field as `pepeunit pipelines check` does (issue 12.12).
    filters = next(issue for issue in issues if issue["stage"] == "Filters")
    assert filters["field"] == "max_rate"
    assert filters["message"].startswith("Filters.max_rate: ")
    _config, cli_issues = validate_config(yaml.safe_load(bad), settings.mqtt_max_payload_bytes)
    assert [issue["message"] for issue in issues] == [str(issue) for issue in cli_issues]
    assert client.post(url, files=upload("- just\n- a list\n")).json()[0]["stage"] == "File"
    for body in ("a: [unclosed", b"\xff\xfe\x00"):
        response = client.post(url, files=upload(body))
        assert response.status_code == 422, response.text
    assert client.post(url, data={"other": "x"}).status_code == 422
    assert client.post(url, content=b"not multipart").status_code == 422
    assert client.post(url, files=upload("a" * 70_000)).status_code == 422


def test_set_then_get_config(client: TestClient, pipes: Pipes, app: FastAPI):
    node, owner = pipes.nodes["nrec"], pipes.headers["owner"]
    response = client.post(
        f"{NODES}/set_data_pipe_config",
        params={"uuid": node},
        files=upload(VALID_YAML),
        headers=owner,
    )
    assert response.status_code == 204, response.text
    with app.state.context.session_factory() as session:
        version = session.scalar(select(DataflowConfigVersion.version))
        stored = session.get_one(UnitNode, UUID(node)).data_pipe_yml
    assert version == 2  # seeding bumped it once, the API once more
    assert stored is not None and '"transformations":null' in stored
    response = client.get(f"{NODES}/get_data_pipe_config/{node}", headers=owner)
    assert response.headers["content-type"].startswith("application/x-yaml")
    document = yaml.safe_load(response.text)
    assert document == {
        "active_period": {"type": "Permanent"},
        "filters": {
            "type_input_value": "Number",
            "max_rate": 0,
            "last_unique_check": False,
            "max_size": 32,
        },
        "processing_policy": {"policy_type": "NRecords", "n_records_count": 5},
    }
    # issue 12.10: the node shows the same YAML, and the stored status follows the config
    read = client.get(f"{NODES}/{node}", headers=owner).json()
    assert yaml.safe_load(read["data_pipe_yml"]) == document
    with app.state.context.session_factory() as session:
        row = session.get_one(UnitNode, UUID(node))
        assert (row.data_pipe_status, row.data_pipe_error) == ("Active", None)


def test_set_config_refuses_invalid_configs_and_inactive_nodes(
    client: TestClient, pipes: Pipes, app: FastAPI
):
    node, owner = pipes.nodes["nrec"], pipes.headers["owner"]

    def set_config(text: str) -> httpx.Response:
        return client.post(
            f"{NODES}/set_data_pipe_config",
            params={"uuid": node},
            files=upload(text),
            headers=owner,
        )

    bad = VALID_YAML.replace("n_records_count: 5", "n_records_count: 0").replace(
        "max_rate: 0", "max_rate: -1"
    )
    response = set_config(bad)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("422: 8: DataPipe Validation Error: 2 errors in the config: ")
    assert "Filters.max_rate: " in detail and "ProcessingPolicy.n_records_count: " in detail
    assert set_config("a: [").status_code == 422
    with app.state.context.session_factory() as session:
        session.get_one(UnitNode, UUID(node)).is_data_pipe_active = False
        session.commit()
    response = set_config(VALID_YAML)
    assert response.status_code == 422
    assert response.json()["detail"].endswith("Data pipe is not active")
    with app.state.context.session_factory() as session:
        assert session.scalar(select(DataflowConfigVersion.version)) == 1


def test_n_records_reads_honour_n_filters_and_pages(client: TestClient, pipes: Pipes):
    node = pipes.nodes["nrec"]
    pipes.write([n_row(node, str(value), 100 - value) for value in range(1, 6)])
    result = read(client, pipes, "nrec", type="NRecords")
    assert result["count"] == 3  # N = 3 even before the clean-up removes the older two
    assert [row["state"] for row in result["pipe_data"]] == ["5", "4", "3"]
    assert [row["id"] for row in result["pipe_data"]] == [3, 2, 1]
    ascending = read(client, pipes, "nrec", type="NRecords", order_by_create_date="asc")
    assert [row["state"] for row in ascending["pipe_data"]] == ["3", "4", "5"]
    page = read(client, pipes, "nrec", type="NRecords", limit=1, offset=1)
    assert page["count"] == 3 and [row["state"] for row in page["pipe_data"]] == ["4"]
    assert read(client, pipes, "nrec", type="NRecords", search_string="4")["count"] == 1
    since = result["pipe_data"][1]["create_datetime"]
    assert read(client, pipes, "nrec", type="NRecords", start_create_datetime=since)["count"] == 2
    assert read(client, pipes, "nrec", type="NRecords", relative_time="1s")["count"] == 0
    assert read(client, pipes, "nrec", type="NRecords", relative_time="1y")["count"] == 3


BAD_QUERIES: list[dict[str, Any]] = [
    {"limit": 501},
    {"limit": -1},
    {"offset": -1},
    {"relative_time": "5w"},
    {"relative_time": "99999999999d"},
    {"type": "Nope"},
    {"start_create_datetime": "yesterday"},
    {"aggregation_type": "Median"},
    {"search_string": "a\x00b"},
    {"uuid": "not-a-uuid"},
]


def test_bad_read_queries_are_422(client: TestClient, pipes: Pipes):
    for params in BAD_QUERIES:
        query = {"uuid": pipes.nodes["nrec"], "type": "NRecords", **params}
        response = client.get(
            f"{NODES}/get_data_pipe_data/", params=query, headers=pipes.headers["owner"]
        )
        assert response.status_code == 422, (params, response.text)


ODD_QUERIES: list[dict[str, Any]] = [
    {"type": "Aggregation", "time_window_size": 2**70},
    {"type": "Aggregation", "end_agg_window_datetime": "0001-01-01T00:00:00"},
    {"type": "NRecords", "start_create_datetime": "9999-12-31T23:59:59.999999+14:00"},
    {"type": "NRecords", "end_create_datetime": "0001-01-01T00:00:00-12:00"},
    {"type": "TimeWindow", "relative_time": "999999999y"},
    {"type": "TimeWindow", "search_string": "' OR 1=1 --\\%_{node}"},
    {"type": "NRecords", "offset": 2**31 - 1, "limit": 500},
]


def test_odd_read_queries_reach_the_store_and_find_nothing(client: TestClient, pipes: Pipes):
    """Values that no stored row matches are passed to ClickHouse as bound parameters: an
    empty page, never a 500."""
    for params in ODD_QUERIES:
        node = {"Aggregation": "agg", "TimeWindow": "window"}.get(params["type"], "nrec")
        result = read(client, pipes, node, **params)
        assert result["pipe_data"] == [], params


def test_time_window_reads_drop_expired_rows(client: TestClient, pipes: Pipes):
    node = pipes.nodes["window"]
    pipes.write([window_row(node, "1", 3600), window_row(node, "2", 30), window_row(node, "3", 5)])
    result = read(client, pipes, "window", type="TimeWindow", order_by_create_date="asc")
    assert [row["state"] for row in result["pipe_data"]] == ["2", "3"]
    assert read(client, pipes, "window", type="TimeWindow", relative_time="10s")["count"] == 1


def test_aggregation_and_last_value_reads(client: TestClient, pipes: Pipes, app: FastAPI):
    node = pipes.nodes["agg"]
    end = ago(0).replace(second=0) - timedelta(minutes=10)
    pipes.write(
        [
            agg_row(node, 1.5, "Avg", end),
            agg_row(node, 1.0, "Min", end),
            agg_row(node, 2.5, "Avg", end + timedelta(minutes=1)),
        ]
    )
    assert read(client, pipes, "agg", type="Aggregation")["count"] == 3
    result = read(client, pipes, "agg", type="Aggregation", aggregation_type="Avg")
    assert [row["state"] for row in result["pipe_data"]] == [2.5, 1.5]
    assert read(client, pipes, "agg", type="Aggregation", time_window_size=300)["count"] == 0
    assert read(client, pipes, "last", type="LastValue") == {"count": 0, "pipe_data": []}
    with app.state.context.session_factory() as session:
        session.get_one(UnitNode, UUID(pipes.nodes["last"])).state = "42"
        session.commit()
    result = read(client, pipes, "last", type="LastValue")
    assert result["count"] == 1 and result["pipe_data"][0]["state"] == "42"


ROUNDED_AGGREGATION = """
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 32}
transformations: {round_decimal_point: 2}
processing_policy: {policy_type: Aggregation, time_window_size: 60, aggregation_functions: %s}
"""


@pytest.mark.parametrize(
    ("function", "payloads", "noisy", "shown"),
    [
        ("Avg", ["20.14", "20.01"], 20.075000000000003, "20.075"),
        ("Avg", ["20.09", "20.10", "20.10"], 20.096666666666668, "20.0966666667"),
        ("Sum", ["0.10", "0.20"], 0.30000000000000004, "0.3"),
        ("Max", ["20.14", "20.01"], 20.14, "20.14"),
    ],
)
def test_aggregates_read_without_float_noise(
    client: TestClient,
    pipes: Pipes,
    function: str,
    payloads: list[str],
    noisy: float,
    shown: str,
):
    """Issue 12.15: the pipeline computes the reference's float (sum in arrival order, then
    divided) and stores it; reads and CSV export show it as the pipeline rounds its values."""
    node, owner = pipes.nodes["agg"], pipes.headers["owner"]
    text = ROUNDED_AGGREGATION % function
    response = client.post(
        f"{NODES}/set_data_pipe_config", params={"uuid": node}, files=upload(text), headers=owner
    )
    assert response.status_code == 204, response.text
    config, issues = validate_config(yaml.safe_load(text))
    assert config is not None, issues
    pipeline, memory = Pipeline(node, config), NodeMemory()
    start = ago(0).replace(second=0) - timedelta(minutes=10)
    for second, payload in enumerate(payloads, start=1):
        assert pipeline.process(memory, payload, start + timedelta(seconds=second)).accepted
    (row,) = pipeline.close_due_windows(memory, start + timedelta(minutes=2))
    assert row.state == noisy  # what the conformance rules decide is left as it is
    pipes.write([row])

    response = client.get(
        f"{NODES}/get_data_pipe_data/",
        params={"uuid": node, "type": "Aggregation"},
        headers=owner,
    )
    assert response.status_code == 200, response.text
    assert f'"state":{shown},' in response.text
    assert response.json()["pipe_data"][0]["state"] == float(shown)
    (exported,) = csv.DictReader(io.StringIO(export_csv(client, pipes, "agg")))
    assert exported["state"] == shown


def export_csv(client: TestClient, pipes: Pipes, node: str) -> str:
    response = client.get(
        f"{NODES}/get_data_pipe_data_csv/{pipes.nodes[node]}", headers=pipes.headers["owner"]
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        [name] = archive.namelist()
        assert name == f"{pipes.nodes[node]}.csv"
        return archive.read(name).decode()


def import_csv(client: TestClient, pipes: Pipes, node: str, text: str) -> httpx.Response:
    return client.post(
        f"{NODES}/set_data_pipe_data_csv",
        params={"uuid": pipes.nodes[node]},
        files=upload(text, "data.csv"),
        headers=pipes.headers["owner"],
    )


@pytest.mark.parametrize("node", ["nrec", "window", "agg"])
def test_csv_round_trip(client: TestClient, pipes: Pipes, node: str):
    uuid = pipes.nodes[node]
    if node == "nrec":
        pipes.write([n_row(uuid, f"{value}.0", 100 - value) for value in range(1, 4)])
    elif node == "window":
        pipes.write([window_row(uuid, "1.5", 20), window_row(uuid, "2.0", 10)])
    else:
        end = ago(0).replace(second=0) - timedelta(minutes=10)
        pipes.write(
            [agg_row(uuid, 1.5, "Avg", end), agg_row(uuid, 2.0, "Avg", end + timedelta(minutes=2))]
        )
    before = read(client, pipes, node, type=POLICIES[node]["policy_type"])
    exported = export_csv(client, pipes, node)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == before["count"] and rows[0]["create_datetime"] < rows[-1]["create_datetime"]
    deleted = client.delete(f"{NODES}/delete_data_pipe_data/{uuid}", headers=pipes.headers["owner"])
    assert deleted.status_code == 204
    assert read(client, pipes, node, type=POLICIES[node]["policy_type"])["count"] == 0
    assert import_csv(client, pipes, node, exported).status_code == 204
    assert read(client, pipes, node, type=POLICIES[node]["policy_type"]) == before


def test_csv_import_stores_numbers_as_floats(client: TestClient, pipes: Pipes):
    text = "state,create_datetime\n5,2024-01-01 00:00:00\n7,2024-01-01 00:00:01.250000\n"
    assert import_csv(client, pipes, "nrec", text).status_code == 204
    result = read(client, pipes, "nrec", type="NRecords", order_by_create_date="asc")
    assert [row["state"] for row in result["pipe_data"]] == ["5.0", "7.0"]
    assert result["pipe_data"][1]["create_datetime"].startswith("2024-01-01T00:00:01.250")


INVALID_CSVS = [
    "state,create_datetime\n1,2024-01-01 00:00:01\n2,2024-01-01 00:00:00\n",  # unsorted
    "state,create_datetime\n1,2024-01-01 00:00:00\nabc,2024-01-01 00:00:01\n",  # not a number
    "state,create_datetime\n1,2024-01-01T00:00:00Z\n",  # wrong time format
    "state\n1\n",  # missing column
    "state,create_datetime\n" + "1,2024-01-01 00:00:00\n" * 4,  # more than N = 3
    "state,create_datetime\n" + "1" * 70 + ",2024-01-01 00:00:00\n",  # longer than max_size
    "\xff",  # not a CSV of rows
    'state,create_datetime\n"1,2024-01-01 00:00:00\n',  # an unclosed quote
]


def test_invalid_csv_changes_nothing(client: TestClient, pipes: Pipes):
    node = pipes.nodes["nrec"]
    pipes.write([n_row(node, "9.0", 10)])
    before = read(client, pipes, "nrec", type="NRecords")
    assert before["count"] == 1
    for text in INVALID_CSVS:
        response = import_csv(client, pipes, "nrec", text)
        assert response.status_code == 422, (text, response.text)
        assert response.json()["detail"].startswith("422: ")
        assert read(client, pipes, "nrec", type="NRecords") == before


def test_csv_past_the_size_cap_is_refused_naming_the_limit(
    client: TestClient, pipes: Pipes, app: FastAPI, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(app.state.context.settings, "max_csv_import_size", 1)
    node = pipes.nodes["nrec"]
    pipes.write([n_row(node, "9.0", 10)])
    before = read(client, pipes, "nrec", type="NRecords")
    header = "state,create_datetime\n"
    row = "1,2024-01-01 00:00:00\n"
    oversized = header + "#" * (1024 * 1024 + 1 - len(header) - len(row)) + "\n" + row
    response = import_csv(client, pipes, "nrec", oversized)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "1 MB" in detail and "PU_MAX_CSV_IMPORT_SIZE" in detail, detail
    assert read(client, pipes, "nrec", type="NRecords") == before


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00.5",
        "2024-01-01 23:59:59.123456",
        "2024-1-2 3:04:05",
        "2024-02-30 00:00:00",
        "2024-01-01 24:00:00",
        "2024-01-01T00:00:00",
        "2024-01-01 00:00:00.1234567",
        "2024-01-01 00:00:00+00:00",
        "24-01-01 00:00:00",
    ],
)
def test_csv_times_are_read_as_strptime_reads_them(text: str):
    try:
        expected = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        try:
            expected = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            expected = None
    try:
        parsed = node_pipelines._parse_time({"t": text}, "t")
    except node_pipelines.RowError:
        parsed = None
    assert parsed == (expected.replace(tzinfo=UTC) if expected else None)


def test_time_window_csv_rows_must_be_in_the_current_window(client: TestClient, pipes: Pipes):
    old = ago(3600).strftime("%Y-%m-%d %H:%M:%S")
    response = import_csv(client, pipes, "window", f"state,create_datetime\n1,{old}\n")
    assert response.status_code == 422
    assert "Row 1: " in response.json()["detail"]


def test_invalid_bytes_and_last_value_csv_are_refused(client: TestClient, pipes: Pipes):
    response = client.post(
        f"{NODES}/set_data_pipe_data_csv",
        params={"uuid": pipes.nodes["nrec"]},
        files=upload(b"\xff\xfe", "data.csv"),
        headers=pipes.headers["owner"],
    )
    assert response.status_code == 422
    response = client.get(
        f"{NODES}/get_data_pipe_data_csv/{pipes.nodes['last']}", headers=pipes.headers["owner"]
    )
    assert response.status_code == 422
    assert "LastValue" in response.json()["detail"]
