"""A node's Data and Pipeline pages, on SQLite and PostgreSQL with real chdb: the stored rows as
a chart and a table, CSV export and import; Check with each issue's line and field, Try on the
stored values and on a recording, Apply; and the refusals, shown as messages (never a 500)."""

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi import FastAPI

from control_plane.console.session import CSRF_FIELD
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import UnitNode, User
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.rows import AggregationRow, NRecordsRow, Row
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.control_plane.conftest import make_settings
from tests.flows.support import pipeline_config
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit
from tests.services.clickhouse import ClickHouseDatabase

N_RECORDS = {"policy_type": "NRecords", "n_records_count": 10}
AGGREGATION = {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Avg"}
DRAFT = """active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 64}
transformations: {multiplication_ratio: 2}
processing_policy: {policy_type: NRecords, n_records_count: 10}
"""
BAD_FIELD = """active_period: {type: Permanent}
filters:
  type_input_value: Number
  max_rate: -5
  max_size: 64
processing_policy: {policy_type: NRecords, n_records_count: 10}
"""
CHART = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>', re.DOTALL)


@pytest.fixture
def settings(database_url: str, clickhouse_database: ClickHouseDatabase) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(
        database_url, secure=False, clickhouse_database_url=clickhouse_database.dsn
    )


def add_piped_node(app: FastAPI, owner: UUID, policy: dict) -> str:
    with app.state.context.session_factory() as session:
        user = session.get_one(User, owner)
        unit = add_unit(session, user, add_repo(session, user, add_registry(session, user)))
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
        node.is_data_pipe_active = True
        node.data_pipe_yml = json.dumps(pipeline_config(policy).model_dump(mode="json"))
        session.commit()
        return str(node.uuid)


def write(clickhouse: ClickHouseDatabase, rows: list[Row]) -> None:
    ClickHouseWriter(clickhouse.client).write(
        [IngestedRow(number, row) for number, row in enumerate(rows, 1)]
    )


def recent(seconds_ago: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)


def n_rows(node: str, values: list[str]) -> list[Row]:
    count = len(values)
    return [
        NRecordsRow(node, value, "Number", recent(10 * (count - number)), 10, len(value))
        for number, value in enumerate(values)
    ]


@pytest.fixture
def owner(console: ConsoleClient) -> UUID:
    uuid = register(console, "admin")
    console.sign_in("admin")
    return uuid


def test_data_page_draws_and_lists_the_stored_rows(
    console: ConsoleClient, app: FastAPI, owner: UUID, clickhouse_database: ClickHouseDatabase
):
    node = add_piped_node(app, owner, N_RECORDS)
    write(clickhouse_database, n_rows(node, ["20.5", "21", "22.25"]))

    page = console.get(f"{PREFIX}/nodes/{node}/data")

    assert page.status_code == 200, page.text
    assert "3 stored rows" in page.text
    table = page.text.split('id="rows"')[1]
    assert table.index("<output>22.25</output>") < table.index("<output>20.5</output>")
    chart = json.loads(CHART.search(page.text).group(1))
    assert chart["series"] == [{"label": "value", "values": [20.5, 21.0, 22.25]}]
    assert chart["x"] == sorted(chart["x"])
    assert "node_chart.js" in page.text and "uPlot.iife.min.js" in page.text


def test_aggregation_chart_has_a_series_per_function(
    console: ConsoleClient, app: FastAPI, owner: UUID, clickhouse_database: ClickHouseDatabase
):
    node = add_piped_node(app, owner, AGGREGATION)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    rows: list[Row] = []
    for minutes in (2, 1):
        close = end - timedelta(minutes=minutes)
        for function, value in (("Avg", 1.5 * minutes), ("Max", 3.0 * minutes)):
            start = close - timedelta(minutes=1)
            rows.append(AggregationRow(node, value, function, 60, close, start, close))
    write(clickhouse_database, rows)

    page = console.get(f"{PREFIX}/nodes/{node}/data")

    chart = json.loads(CHART.search(page.text).group(1))
    assert [series["label"] for series in chart["series"]] == ["Avg", "Max"]
    assert chart["series"][0]["values"] == [3.0, 1.5]
    assert len(chart["x"]) == 2


def test_csv_export_then_import_and_a_bad_csv_says_why(
    console: ConsoleClient, app: FastAPI, owner: UUID, clickhouse_database: ClickHouseDatabase
):
    node = add_piped_node(app, owner, N_RECORDS)
    write(clickhouse_database, n_rows(node, ["1", "2"]))

    exported = console.get(f"{PREFIX}/nodes/{node}/data/csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        table = list(csv.DictReader(io.StringIO(archive.read(f"{node}.csv").decode())))
    assert [row["state"] for row in table] == ["1", "2"]

    token = console.form_token(f"{PREFIX}/nodes/{node}/data")
    good = "state,create_datetime\n7,2026-01-01 00:00:00\n8,2026-01-01 00:00:10\n"
    imported = console.post(
        f"{PREFIX}/nodes/{node}/data/csv",
        data={CSRF_FIELD: token},
        files={"data": ("rows.csv", good.encode(), "text/csv")},
    )
    assert imported.status_code == 303
    shown = console.get(imported.headers["location"])
    assert "Imported 2 rows" in shown.text and "2 stored rows" in shown.text

    bad = "state,create_datetime\nhot,2026-01-01 00:00:00\n"
    refused = console.post(
        f"{PREFIX}/nodes/{node}/data/csv",
        data={CSRF_FIELD: token},
        files={"data": ("rows.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert "Row 1: state &#39;hot&#39; is not a finite number" in refused.text
    assert "2 stored rows" in refused.text  # nothing was replaced

    without_token = console.post(
        f"{PREFIX}/nodes/{node}/data/csv", files={"data": ("rows.csv", good.encode())}
    )
    assert without_token.status_code == 403


def test_check_shows_each_issue_with_its_line_and_field(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    node = add_piped_node(app, owner, N_RECORDS)
    htmx = {"HX-Request": "true", "X-CSRF-Token": console.csrf()}

    checked = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/check", data={"yaml": BAD_FIELD}, headers=htmx
    )
    assert checked.status_code == 200
    assert 'id="check-result"' in checked.text
    assert re.search(r"line 4</span> <code>Filters.max_rate</code>", checked.text), checked.text

    syntax = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/check", data={"yaml": "filters: [\n"}, headers=htmx
    )
    assert "Not valid YAML" in syntax.text and "line 2</span>" in syntax.text

    fine = console.post(f"{PREFIX}/nodes/{node}/pipeline/check", data={"yaml": DRAFT}, headers=htmx)
    assert "The draft is valid." in fine.text


def test_the_page_shows_the_stored_config_and_apply_refuses_a_bad_draft(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    node = add_piped_node(app, owner, N_RECORDS)
    page = console.get(f"{PREFIX}/nodes/{node}/pipeline")
    assert page.status_code == 200
    assert "policy_type: NRecords" in page.text

    token = console.form_token(f"{PREFIX}/nodes/{node}/pipeline")
    refused = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/apply", data={"yaml": BAD_FIELD, CSRF_FIELD: token}
    )
    assert refused.status_code == 422
    assert "line 4</span> <code>Filters.max_rate</code>" in refused.text
    assert "max_rate: -5" in refused.text  # the draft stays in the editor

    applied = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/apply", data={"yaml": DRAFT, CSRF_FIELD: token}
    )
    assert applied.status_code == 303
    assert "multiplication_ratio: 2" in console.get(applied.headers["location"]).text
    with app.state.context.session_factory() as session:
        stored = session.get_one(UnitNode, UUID(node)).data_pipe_yml
    assert json.loads(stored)["transformations"]["multiplication_ratio"] == 2


def test_try_on_stored_values_and_on_a_recording(
    console: ConsoleClient, app: FastAPI, owner: UUID, clickhouse_database: ClickHouseDatabase
):
    node = add_piped_node(app, owner, N_RECORDS)
    write(clickhouse_database, n_rows(node, ["10", "11"]))
    htmx = {"HX-Request": "true", "X-CSRF-Token": console.csrf()}

    stored = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/try",
        data={"yaml": DRAFT, "source": "stored"},
        headers=htmx,
    )
    assert stored.status_code == 200, stored.text
    assert "as the active pipeline stored them" in stored.text
    draft_side = stored.text.split('id="trial-draft"')[1].split("</table>")[0]
    assert "<output>22.000000</output>" in draft_side and "<output>20.000000</output>" in draft_side
    active_side = stored.text.split('id="trial-active"')[1].split("</table>")[0]
    assert "<output>11</output>" in active_side

    recording = "\n".join(
        json.dumps({"t": f"2026-01-01T00:00:0{second}Z", "payload": payload, **extra})
        for second, payload, extra in [
            (1, "1.5", {}),
            (2, "hot", {}),
            (3, "4", {"node": node}),
            (4, "9", {"node": "00000000-0000-0000-0000-000000000001"}),
        ]
    )
    tried = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/try",
        data={"yaml": DRAFT, "source": "recording"},
        files={"recording": ("messages.jsonl", recording.encode(), "application/json")},
        headers=htmx,
    )
    assert tried.status_code == 200, tried.text
    assert "3 messages: 2 accepted, 1 rejected" in tried.text
    assert "1 message of other nodes left out" in tried.text
    draft_side = tried.text.split('id="trial-draft"')[1].split("</table>")[0]
    assert "<output>3.000000</output>" in draft_side and "<output>8.000000</output>" in draft_side
    active_side = tried.text.split('id="trial-active"')[1].split("</table>")[0]
    assert "The active pipeline on this recording" in tried.text
    assert "<output>1.5</output>" in active_side and "<output>4</output>" in active_side

    broken = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/try",
        data={"yaml": DRAFT, "source": "recording"},
        files={"recording": ("messages.jsonl", b'{"t": "yesterday"}\n', "application/json")},
        headers=htmx,
    )
    assert broken.status_code == 200
    assert "The recording: line 1" in broken.text


def test_try_on_an_aggregation_node_says_only_outputs_are_stored(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    node = add_piped_node(app, owner, AGGREGATION)
    tried = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/try",
        data={"yaml": DRAFT, "source": "stored"},
        headers={"HX-Request": "true", "X-CSRF-Token": console.csrf()},
    )
    assert "stores aggregates, not the values it received" in tried.text


def test_another_users_node_is_refused_as_the_api_refuses_it(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    bob = register(console, "bobby")
    node = add_piped_node(app, bob, N_RECORDS)
    token = console.form_token(f"{PREFIX}/units")
    for method, path, data in [
        ("GET", "data", None),
        ("GET", "data/csv", None),
        ("GET", "pipeline", None),
        ("POST", "pipeline/check", {"yaml": DRAFT, CSRF_FIELD: token}),
        ("POST", "pipeline/try", {"yaml": DRAFT, CSRF_FIELD: token}),
        ("POST", "pipeline/apply", {"yaml": DRAFT, CSRF_FIELD: token}),
    ]:
        answer = console.request(method, f"{PREFIX}/nodes/{node}/{path}", data=data)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "Only the creator of this unit node may do this" in answer.text
    missing = console.get(f"{PREFIX}/nodes/00000000-0000-0000-0000-000000000009/data")
    assert missing.status_code == 404


def test_a_node_without_a_pipeline_config_says_so(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    with app.state.context.session_factory() as session:
        user = session.get_one(User, owner)
        unit = add_unit(session, user, add_repo(session, user, add_registry(session, user)))
        node = add_node(session, unit, UnitNodeType.OUTPUT, "label/pepeunit").uuid
        session.commit()
    data = console.get(f"{PREFIX}/nodes/{node}/data")
    assert data.status_code == 200
    assert "no pipeline config yet" in data.text
    pipeline = console.get(f"{PREFIX}/nodes/{node}/pipeline")
    assert pipeline.status_code == 200
    assert "not active" in pipeline.text


def test_without_htmx_check_and_try_answer_the_whole_page_and_bad_input_is_a_message(
    console: ConsoleClient, app: FastAPI, owner: UUID
):
    node = add_piped_node(app, owner, N_RECORDS)
    token = console.form_token(f"{PREFIX}/nodes/{node}/pipeline")

    checked = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/check", data={"yaml": BAD_FIELD, CSRF_FIELD: token}
    )
    assert checked.status_code == 200
    assert "<h1>Pipeline of temperature/pepeunit</h1>" in checked.text
    assert "line 4</span> <code>Filters.max_rate</code>" in checked.text

    no_file = console.post(
        f"{PREFIX}/nodes/{node}/pipeline/try",
        data={"yaml": DRAFT, "source": "recording", CSRF_FIELD: token},
    )
    assert no_file.status_code == 200
    assert "Choose a recording file" in no_file.text

    for path, data in [
        ("pipeline/try", {"yaml": DRAFT, "source": "elsewhere", CSRF_FIELD: token}),
        ("pipeline/apply", {CSRF_FIELD: token}),
        ("data/csv", {CSRF_FIELD: token}),
    ]:
        answer = console.post(f"{PREFIX}/nodes/{node}/{path}", data=data)
        assert answer.status_code == 422, (path, answer.text)
        assert "Invalid input" in answer.text
    assert console.get(f"{PREFIX}/nodes/{node}/data?page=0").status_code == 422
    assert console.get(f"{PREFIX}/nodes/not-a-uuid/pipeline").status_code == 422
