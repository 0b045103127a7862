"""DataPipe and unit logs over GraphQL (docs/graphql.md#units-unit-nodes-and-datapipe), with
real chdb: uploads by the GraphQL multipart request spec with REST's limits and refusals,
`getPipeData` as the union member of each policy, and every answer as REST's."""

import json
from datetime import timedelta
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.services.nodes.pipelines import MAX_CONFIG_BYTES
from pepeunit_core.db.models import UnitNode
from tests.services.clickhouse import ClickHouseDatabase

from .conftest import Actors
from .graphql_support import GRAPHQL, assert_same, data, refusal, upload
from .test_data_pipe_api import (
    NODES,
    VALID_YAML,
    Pipes,
    agg_row,
    ago,
    n_row,
    pipes,
    read,
    settings,
    window_row,
)
from .test_data_pipe_api import upload as rest_file
from .test_unit_logs_api import COLUMNS, LOGS, log_row

__all__ = ["pipes", "settings"]  # the fixtures of the REST twin's tests

CHECK = "query($file: Upload!) { checkDataPipeConfig(file: $file) { __typename stage message } }"
SET_CONFIG = """mutation($uuid: UUID!, $file: Upload!) {
    setDataPipeConfig(uuid: $uuid, file: $file) { isNone } }"""
SET_CSV = """mutation($uuid: UUID!, $file: Upload!) {
    setDataPipeDataCsv(uuid: $uuid, file: $file) { isNone } }"""
GET_CONFIG = "query($uuid: UUID!) { getDataPipeConfig(uuid: $uuid) }"
DELETE = "mutation($uuid: UUID!) { deleteDataPipeData(uuid: $uuid) { isNone } }"
# The frontend's document: the three String `state`s under one key, the Float one aliased.
PIPE_DATA = """query($filters: DataPipeFilterInput!) { getPipeData(filters: $filters) {
    __typename count pipeData { __typename
        ... on LastValueType { unitNodeUuid state lastUpdateDatetime }
        ... on NRecordsType { unitNodeUuid state stateType createDatetime maxCount size }
        ... on TimeWindowType {
            unitNodeUuid state stateType createDatetime expirationDatetime size }
        ... on AggregationType { unitNodeUuid state_float: state aggregationType timeWindowSize
            createDatetime startWindowDatetime } } } }"""
BAD_CONFIG = VALID_YAML.replace("n_records_count: 5", "n_records_count: 0").replace(
    "max_rate: 0", "max_rate: -1"
)


def answer(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def uploaded(
    client: TestClient, query: str, content: bytes, headers: dict | None = None, **variables
) -> dict:
    return answer(upload(client, query, content, headers, **variables))


def test_check_config_answers_as_rest(client: TestClient, pipes: Pipes):
    assert uploaded(client, CHECK, VALID_YAML.encode()) == {"data": {"checkDataPipeConfig": []}}
    issues = uploaded(client, CHECK, BAD_CONFIG.encode())["data"]["checkDataPipeConfig"]
    twin = client.post(f"{NODES}/check_data_pipe_config", files=rest_file(BAD_CONFIG)).json()
    assert [issue["message"] for issue in issues] == [issue["message"] for issue in twin]
    assert [issue["stage"] for issue in issues] == ["FILTERS", "PROCESSING_POLICY"]
    assert {issue["__typename"] for issue in issues} == {"DataPipeValidationErrorType"}
    # A problem of the whole file (stage `File` over REST) shows as the first stage.
    (whole,) = uploaded(client, CHECK, b"- a\n- list\n")["data"]["checkDataPipeConfig"]
    assert whole["stage"] == "ACTIVE_PERIOD" and whole["message"].startswith("File.")


def test_uploads_are_refused_as_over_rest(app: FastAPI, client: TestClient, pipes: Pipes):
    for content in (b"a" * (MAX_CONFIG_BYTES + 1), b"\xff\xfe\x00", b"a: [unclosed"):
        twin = client.post(f"{NODES}/check_data_pipe_config", files=rest_file(content))
        refused = answer(upload(client, CHECK, content))["errors"][0]
        assert refused["message"] == twin.json()["detail"], content[:10]
        assert refused["extensions"]["status"] == twin.status_code == 422
    not_a_file = refusal(client, CHECK, file="active_period: {}")
    assert not_a_file["status"] == 422 and "multipart" in not_a_file["message"]

    # Transport problems are HTTP 400 (the check of every response wants `{"detail"}`).
    raw = TestClient(app)
    operations = json.dumps({"query": CHECK, "variables": {"file": None}})
    missing = raw.post(
        GRAPHQL,
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        files={"other": ("x", b"")},
    )
    assert (missing.status_code, missing.json()) == (
        400,
        {"detail": "File(s) missing in form data"},
    )
    malformed = raw.post(GRAPHQL, data={"operations": "{", "map": "{}"}, files={"0": ("x", b"")})
    assert malformed.status_code == 400


def test_set_and_get_config_answer_as_rest(client: TestClient, pipes: Pipes):
    node, owner = pipes.nodes["nrec"], pipes.headers["owner"]
    done = uploaded(client, SET_CONFIG, VALID_YAML.encode(), owner, uuid=node)
    assert done == {"data": {"setDataPipeConfig": {"isNone": True}}}
    text = data(client, GET_CONFIG, owner, uuid=node)
    assert text == client.get(f"{NODES}/get_data_pipe_config/{node}", headers=owner).text
    assert data(client, GET_CONFIG, pipes.headers["own_unit"], uuid=node) == text

    for agent, content in [("bob", VALID_YAML), ("owner", BAD_CONFIG)]:
        twin = client.post(
            f"{NODES}/set_data_pipe_config",
            params={"uuid": node},
            files=rest_file(content),
            headers=pipes.headers[agent],
        )
        (error,) = uploaded(client, SET_CONFIG, content.encode(), pipes.headers[agent], uuid=node)[
            "errors"
        ]
        assert error["message"] == twin.json()["detail"]
        assert error["extensions"]["status"] == twin.status_code
    twin = client.get(f"{NODES}/get_data_pipe_config/{node}", headers=pipes.headers["bob"])
    refused = refusal(client, GET_CONFIG, pipes.headers["bob"], uuid=node)
    assert refused == {"message": twin.json()["detail"], "status": twin.status_code}
    assert refusal(client, GET_CONFIG, owner, uuid=str(uuid4()))["status"] == 404


def pipe_data(client: TestClient, pipes: Pipes, node: str, policy: str, **filters) -> dict:
    return data(
        client,
        PIPE_DATA,
        pipes.headers["owner"],
        filters={"uuid": pipes.nodes[node], "type": policy, **filters},
    )


def same_rows(listed: dict, twin: dict) -> None:
    """REST's rows, the Float `state` under its alias and without REST's extra fields."""
    assert listed["count"] == twin["count"]
    for row, twin_row in zip(listed["pipeData"], twin["pipe_data"], strict=True):
        if "state_float" in row:
            row = row | {"state": row.pop("state_float")}
            twin_row = {k: v for k, v in twin_row.items() if k != "end_window_datetime"}
        assert_same(row, {k: v for k, v in twin_row.items() if k != "id"})


def test_pipe_data_of_each_policy(client: TestClient, pipes: Pipes, app: FastAPI):
    nrec, window, agg = pipes.nodes["nrec"], pipes.nodes["window"], pipes.nodes["agg"]
    end = ago(0).replace(second=0) - timedelta(minutes=10)
    pipes.write(
        [n_row(nrec, str(value), 100 - value) for value in range(1, 6)]
        + [window_row(window, "1", 3600), window_row(window, "2", 30), window_row(window, "3", 5)]
        + [agg_row(agg, 1.5, "Avg", end), agg_row(agg, 1.0, "Min", end)]
        + [agg_row(agg, 2.5, "Avg", end + timedelta(minutes=1))]
    )
    with app.state.context.session_factory() as session:
        session.get_one(UnitNode, UUID(pipes.nodes["last"])).state = "42"
        session.commit()
    cases = [
        ("nrec", "N_RECORDS", "NRecordsType", {}, {"type": "NRecords"}),
        (
            "nrec",
            "N_RECORDS",
            "NRecordsType",
            {"orderByCreateDate": "asc", "limit": 2, "offset": 1},
            {"type": "NRecords", "order_by_create_date": "asc", "limit": 2, "offset": 1},
        ),
        (
            "window",
            "TIME_WINDOW",
            "TimeWindowType",
            {"searchString": "3"},
            {"type": "TimeWindow", "search_string": "3"},
        ),
        ("window", "TIME_WINDOW", "TimeWindowType", {}, {"type": "TimeWindow"}),
        ("agg", "AGGREGATION", "AggregationType", {}, {"type": "Aggregation"}),
        (
            "agg",
            "AGGREGATION",
            "AggregationType",
            {"aggregationType": ["AVG"]},
            {"type": "Aggregation", "aggregation_type": "Avg"},
        ),
        ("last", "LAST_VALUE", "LastValueType", {}, {"type": "LastValue"}),
    ]
    for node, policy, member, filters, params in cases:
        listed = pipe_data(client, pipes, node, policy, **filters)
        assert listed["__typename"] == "PipeDataResultType"
        assert listed["count"] > 0, (node, filters)
        assert {row["__typename"] for row in listed["pipeData"]} == {member}
        same_rows(listed, read(client, pipes, node, **params))
    (last,) = pipe_data(client, pipes, "last", "LAST_VALUE")["pipeData"]
    assert last["state"] == "42"
    floats = pipe_data(client, pipes, "agg", "AGGREGATION", aggregationType=["AVG"])["pipeData"]
    assert [row["state_float"] for row in floats] == [2.5, 1.5]

    twin = client.get(
        f"{NODES}/get_data_pipe_data/",
        params={"uuid": nrec, "type": "NRecords", "relative_time": "5w"},
        headers=pipes.headers["owner"],
    )
    refused = refusal(
        client,
        PIPE_DATA,
        pipes.headers["owner"],
        filters={"uuid": nrec, "type": "N_RECORDS", "relativeTime": "5w"},
    )
    assert refused["status"] == twin.status_code == 422
    assert refused["message"] == twin.json()["detail"].replace("query.", "filters.")
    for agent in ["bob", "anonymous"]:
        twin = client.get(
            f"{NODES}/get_data_pipe_data/",
            params={"uuid": nrec, "type": "NRecords"},
            headers=pipes.headers[agent],
        )
        refused = refusal(
            client, PIPE_DATA, pipes.headers[agent], filters={"uuid": nrec, "type": "N_RECORDS"}
        )
        assert refused == {"message": twin.json()["detail"], "status": twin.status_code}


def test_csv_import_and_delete(client: TestClient, pipes: Pipes, settings):
    node, owner = pipes.nodes["nrec"], pipes.headers["owner"]
    rows = b"state,create_datetime\n1,2024-01-01 00:00:00\n2,2024-01-01 00:00:01\n"
    done = uploaded(client, SET_CSV, rows, owner, uuid=node)
    assert done == {"data": {"setDataPipeDataCsv": {"isNone": True}}}
    assert read(client, pipes, "nrec", type="NRecords")["count"] == 2

    too_big = b"state,create_datetime\n" + b"1,2024-01-01 00:00:00\n" * (
        settings.max_csv_import_size * 1024 * 1024 // 22 + 1
    )
    for agent, content in [("bob", rows), ("owner", too_big), ("owner", b"state\nnot-a-number\n")]:
        twin = client.post(
            f"{NODES}/set_data_pipe_data_csv",
            params={"uuid": node},
            files=rest_file(content, "data.csv"),
            headers=pipes.headers[agent],
        )
        (error,) = uploaded(client, SET_CSV, content, pipes.headers[agent], uuid=node)["errors"]
        assert error["message"] == twin.json()["detail"]
        assert error["extensions"]["status"] == twin.status_code != 204
    assert read(client, pipes, "nrec", type="NRecords")["count"] == 2

    assert refusal(client, DELETE, pipes.headers["own_unit"], uuid=node)["status"] == 403
    assert data(client, DELETE, owner, uuid=node) == {"isNone": True}
    assert read(client, pipes, "nrec", type="NRecords")["count"] == 0


LOGS_QUERY = """query($filters: UnitLogFilterInput!) { getUnitLogs(filters: $filters) {
    __typename count unitLogs {
        __typename uuid level unitUuid text createDatetime expirationDatetime } } }"""


def test_unit_logs_answer_as_rest(
    client: TestClient, actors: Actors, clickhouse_database: ClickHouseDatabase
):
    unit = actors.unit_uuid
    rows = [
        log_row(unit, "Info", "booted", age_s=50),
        log_row(unit, "Error", "sensor timeout", age_s=30),
        log_row(unit, "Warning", "expired already", age_s=4000, lifetime_s=100),
    ]
    clickhouse_database.client.insert("unit_logs", rows, column_names=COLUMNS)
    for headers in (actors.headers["alice"], actors.headers["unit"]):
        for filters, params in [
            ({}, {}),
            (
                {"level": ["ERROR"], "orderByCreateDate": "asc"},
                {"level": "Error", "order_by_create_date": "asc"},
            ),
        ]:
            listed = data(client, LOGS_QUERY, headers, filters={"uuid": str(unit), **filters})
            twin = client.get(LOGS, params={"uuid": str(unit), **params}, headers=headers).json()
            assert listed["__typename"] == "UnitLogsResultType" and listed["count"] > 0
            assert_same(listed, twin)
    twin = client.get(LOGS, params={"uuid": str(unit)}, headers=actors.headers["bob"])
    refused = refusal(client, LOGS_QUERY, actors.headers["bob"], filters={"uuid": str(unit)})
    assert refused == {"message": twin.json()["detail"], "status": twin.status_code}
