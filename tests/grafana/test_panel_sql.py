"""Every panel's SQL, macros expanded for a time range, run where Grafana would run it: on chdb
over rows the pipeline engine made and ClickHouseWriter stored (written twice, as a replay
would), and on SQLite and PostgreSQL over values LastValueWriter stored. Each returns `time`
then `value` with the types Grafana needs, and exactly what the readers of flows/storage read,
within the range."""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from clickhouse_connect.driver.client import Client
from sqlalchemy.engine import make_url

from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.last_value_writer import LastValueWriter
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.stored_data.reads import (
    read_aggregations,
    read_last_value,
    read_n_records,
    read_time_window,
)
from pepeunit_core.stored_data.rows import IngestedRow
from pepeunit_grafana import SqlDialect, build_dashboard, read_inventory
from pipelines.clock import to_epoch_ms, truncate_to_ms
from pipelines.engine import NodeMemory, Pipeline
from pipelines.rows import AggregationRow, LastValueRow, Row
from tests.grafana.builders import NodeSpec, UnitSpec, add_units, config
from tests.grafana.clickhouse_macros import QueryContext, expand_macros
from tests.services.postgres import PostgresServer, fresh_database

UNIT = "sensor-hub"
AGGREGATION = config(
    {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Avg"}
)
N_NUMBERS = config({"policy_type": "NRecords", "n_records_count": 3})
N_TEXT = config({"policy_type": "NRecords", "n_records_count": 2}, "Text")
WINDOW_NUMBERS = config({"policy_type": "TimeWindow", "time_window_size": 300})
WINDOW_TEXT = config({"policy_type": "TimeWindow", "time_window_size": 300}, "Text")
LAST_NUMBER = config({"policy_type": "LastValue"})
LAST_TEXT = config({"policy_type": "LastValue"}, "Text")
CONFIGS = {
    "temp": AGGREGATION,
    "level": N_NUMBERS,
    "door": N_TEXT,
    "humidity": WINDOW_NUMBERS,
    "log": WINDOW_TEXT,
    "setpoint": LAST_NUMBER,
    "status": LAST_TEXT,
}
# Seconds before the test's start. With 300 s time windows, rows from -600..-360 s expired
# before the test starts and rows from -50..-5 s stay visible for minutes.
OFFSETS = (-600, -500, -420, -360, -50, -40, -30, -20, -10, -5)


@dataclass(frozen=True)
class Fleet:
    url: str
    nodes: dict[str, UUID]
    """topic stem -> node uuid."""
    started: datetime


def _payload(topic: str, step: int) -> str:
    if CONFIGS[topic].filters.type_input_value.value == "Text":
        return ("Open", "Closed", "Fault")[step % 3] + f"-{step}"
    return f"{20 + step * 1.25:.2f}"


def _stored_rows(nodes: dict[str, UUID], started: datetime) -> list[Row]:
    """What the pipeline engine stores for each node's messages."""
    rows: list[Row] = []
    for topic, node_uuid in nodes.items():
        pipeline, memory = Pipeline(str(node_uuid), CONFIGS[topic]), NodeMemory()
        for step, offset in enumerate(OFFSETS):
            outcome = pipeline.process(
                memory, _payload(topic, step), started + timedelta(seconds=offset)
            )
            assert outcome.rejection is None, outcome.rejection
            rows.extend(outcome.rows)
        rows.extend(pipeline.close_due_windows(memory, started + timedelta(minutes=2)))
    return rows


def seed_fleet(url: str, clickhouse: Client | None) -> Fleet:
    migrate_sql(url)
    nodes = {topic: uuid4() for topic in CONFIGS}
    specs = [NodeSpec(node, f"{topic}/pepeunit", CONFIGS[topic]) for topic, node in nodes.items()]
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            add_units(session, [UnitSpec(uuid4(), UNIT, specs)])
        started = truncate_to_ms(datetime.now(UTC))
        rows = _stored_rows(nodes, started)
        last_values = [row for row in rows if isinstance(row, LastValueRow)]
        LastValueWriter(sessions).write([IngestedRow(0, row) for row in last_values])
        if clickhouse is not None:
            stored = [
                IngestedRow(number, row)
                for number, row in enumerate(rows, 1)
                if not isinstance(row, LastValueRow)
            ]
            writer = ClickHouseWriter(clickhouse)
            writer.write(stored)
            writer.write(stored)  # a replay: readers and panels still see each row once
    finally:
        engine.dispose()
    return Fleet(url, nodes, started)


def panels_by_topic(url: str, dialect: SqlDialect) -> dict[str, dict]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            inventory = read_inventory(session)
    finally:
        engine.dispose()
    (unit,) = inventory.units
    panels = build_dashboard(unit, dialect)["panels"]
    return {
        panel["title"].removeprefix(f"{UNIT}@").removesuffix("/pepeunit"): panel for panel in panels
    }


def run_clickhouse(client: Client, panel: dict, start: datetime, end: datetime):
    (target,) = panel["targets"]
    return client.query(expand_macros(target["rawSql"], QueryContext(start, end)))


def as_utc(moment: datetime) -> datetime:
    """The columns are DateTime64(3, 'UTC'); the client may hand them over without the zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_rows(result) -> list[tuple[datetime, object]]:
    return [(as_utc(moment), value) for moment, value in result.result_rows]


def in_range(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment <= end


@pytest.fixture
def fleet(tmp_path, clickhouse: Client) -> Fleet:
    return seed_fleet(f"sqlite:///{tmp_path / 'pepeunit.sqlite'}", clickhouse)


def test_clickhouse_panels_read_what_the_readers_read(fleet: Fleet, clickhouse: Client) -> None:
    panels = panels_by_topic(fleet.url, SqlDialect.SQLITE)
    start, end = fleet.started - timedelta(hours=1), fleet.started + timedelta(minutes=5)
    now = datetime.now(UTC)
    nodes = {topic: str(node) for topic, node in fleet.nodes.items()}
    expected = {
        "temp": [
            (row.end_window_datetime, row.state)
            for row in read_aggregations(clickhouse, nodes["temp"])
        ],
        "level": [
            (row.create_datetime, float(row.state))
            for row in read_n_records(clickhouse, nodes["level"])
        ],
        "door": [
            (row.create_datetime, row.state)
            for row in reversed(read_n_records(clickhouse, nodes["door"]))
        ],
        "humidity": [
            (row.create_datetime, float(row.state))
            for row in read_time_window(clickhouse, nodes["humidity"], now)
        ],
        "log": [
            (row.create_datetime, row.state)
            for row in reversed(read_time_window(clickhouse, nodes["log"], now))
        ],
    }
    # The readers' semantics at work: N newest, unexpired only, every closed window.
    assert len(expected["level"]) == 3 and len(expected["door"]) == 2
    assert len(expected["humidity"]) == len(expected["log"]) == 6
    assert len(expected["temp"]) >= 4
    for topic, rows in expected.items():
        result = run_clickhouse(clickhouse, panels[topic], start, end)
        assert result.column_names == ("time", "value"), topic
        time_type, value_type = (column.name for column in result.column_types)
        assert time_type.startswith("DateTime64"), (topic, time_type)
        if panels[topic]["type"] == "timeseries":
            assert value_type in ("Float64", "Nullable(Float64)"), (topic, value_type)
        else:
            assert panels[topic]["type"] == "table" and value_type == "String", topic
        assert utc_rows(result) == [row for row in rows if in_range(row[0], start, end)], topic


def test_the_time_range_bounds_every_clickhouse_panel(fleet: Fleet, clickhouse: Client) -> None:
    panels = panels_by_topic(fleet.url, SqlDialect.SQLITE)
    wide = (fleet.started - timedelta(hours=1), fleet.started + timedelta(hours=1))
    narrow = (fleet.started - timedelta(seconds=35), fleet.started - timedelta(seconds=15))
    for topic in ("temp", "level", "door", "humidity", "log"):
        everything = utc_rows(run_clickhouse(clickhouse, panels[topic], *wide))
        within = utc_rows(run_clickhouse(clickhouse, panels[topic], *narrow))
        assert within == [row for row in everything if in_range(row[0], *narrow)], topic
        assert len(within) < len(everything), topic
        if topic != "temp":  # whether a window ends in the range depends on the clock
            # N counts the newest rows of all time, not of the range: door's 2 are after it.
            assert bool(within) is (topic != "door"), topic
    # Both ends are inclusive, as the plugin's macro makes them.
    first_end = min(utc_rows(run_clickhouse(clickhouse, panels["temp"], *wide)))[0]
    only_first = utc_rows(run_clickhouse(clickhouse, panels["temp"], first_end, first_end))
    assert [moment for moment, _value in only_first] == [first_end]


def test_aggregation_panel_ignores_windows_of_an_earlier_config(
    fleet: Fleet, clickhouse: Client
) -> None:
    node = str(fleet.nodes["temp"])
    end = fleet.started.replace(second=0, microsecond=0)
    earlier = [
        AggregationRow(node, 1e6, "Sum", 60, end, end - timedelta(seconds=60), end),
        AggregationRow(node, 2e6, "Avg", 300, end, end - timedelta(seconds=300), end),
    ]
    ClickHouseWriter(clickhouse).write([IngestedRow(0, row) for row in earlier])
    panel = panels_by_topic(fleet.url, SqlDialect.SQLITE)["temp"]
    result = run_clickhouse(
        clickhouse, panel, fleet.started - timedelta(hours=1), fleet.started + timedelta(hours=1)
    )
    values = [value for _time, value in result.result_rows]
    assert values and 1e6 not in values and 2e6 not in values


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with fresh_database(server) as database:
        yield database.url


def _run_sql(url: str, sql: str) -> tuple[list[str], list[tuple]]:
    """As Grafana's data source would: the driver, no SQLAlchemy in between."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database)
        try:
            cursor = connection.execute(sql)
            return [column[0] for column in cursor.description], cursor.fetchall()
        finally:
            connection.close()
    conninfo = (
        f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    )
    with psycopg.connect(conninfo) as connection:
        cursor = connection.execute(sql)
        assert cursor.description is not None
        return [column.name for column in cursor.description], cursor.fetchall()


def test_last_value_panels_run_on_the_sql_database(sql_url: str) -> None:
    fleet = seed_fleet(sql_url, clickhouse=None)
    dialect = SqlDialect(make_url(sql_url).get_backend_name())
    panels = panels_by_topic(sql_url, dialect)
    engine = make_engine(sql_url)
    try:
        with make_session_factory(engine)() as session:
            stored = {
                topic: read_last_value(session, str(fleet.nodes[topic]))
                for topic in ("setpoint", "status")
            }
    finally:
        engine.dispose()
    for topic, row in stored.items():
        assert row is not None
        panel = panels[topic]
        assert panel["type"] == "stat"
        (target,) = panel["targets"]
        sql = target["rawQueryText"] if dialect is SqlDialect.SQLITE else target["rawSql"]
        assert "$__" not in sql
        columns, result = _run_sql(sql_url, sql)
        assert columns == ["time", "value"]
        ((moment, value),) = result
        if dialect is SqlDialect.SQLITE:
            assert isinstance(moment, str) and moment.endswith("Z")
            moment = datetime.fromisoformat(moment)
        expected_time = row.last_update_datetime
        assert abs(to_epoch_ms(moment) - to_epoch_ms(expected_time)) <= 1, topic
        if topic == "setpoint":
            assert isinstance(value, float) and value == float(row.state)
        else:
            assert value == row.state


def test_last_value_of_a_node_without_value_is_no_row(sql_url: str) -> None:
    migrate_sql(sql_url)
    node = uuid4()
    engine = make_engine(sql_url)
    try:
        with make_session_factory(engine).begin() as session:
            add_units(
                session, [UnitSpec(uuid4(), UNIT, [NodeSpec(node, "status/pepeunit", LAST_TEXT)])]
            )
    finally:
        engine.dispose()
    dialect = SqlDialect(make_url(sql_url).get_backend_name())
    (target,) = panels_by_topic(sql_url, dialect)["status"]["targets"]
    sql = target.get("rawSql") or target["rawQueryText"]
    assert _run_sql(sql_url, sql)[1] == []
