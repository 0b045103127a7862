"""`pepeunit pipelines apply|export`, run as the installed console script against real databases."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from pepeunit_core.db.config_version import read_dataflow_config_version
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType
from pepeunit_core.db.models import UnitNode
from pepeunit_core.migrate import migrate_sql
from tests.pepeunit_core.builders import add_node, add_unit_tree

CLI = Path(sys.executable).parent / "pepeunit"

ERROR_LINE = re.compile(
    r"^(?P<path>.+): (?P<stage>ActivePeriod|Filters|Transformations|ProcessingPolicy|Binding|File)"
    r"\.(?P<field>[\w\[\].]+): (?P<message>.+)$"
)

LAST_VALUE = """\
active_period: {type: Permanent}
filters: {type_input_value: Text, max_rate: 10, max_size: 64}
processing_policy: {policy_type: LastValue}
"""
N_RECORDS = """\
active_period: {type: FromDate, start: 2024-01-01T00:00:00Z}
filters: {type_input_value: Text, type_value_filtering: WhiteList, filtering_values: [Open, Closed],
  max_rate: 0, last_unique_check: true, max_size: 16}
processing_policy: {policy_type: NRecords, n_records_count: 256}
"""


@dataclass(frozen=True)
class Database:
    url: str
    unit: str
    temp: UUID
    """current_temp/pepeunit, with a pipeline already active."""
    status: UUID
    """status/pepeunit, no pipeline."""
    setpoint: UUID
    """set_temp, an input topic that cannot run a pipeline."""


def seeded_database(url: str) -> Database:
    migrate_sql(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            _user, unit = add_unit_tree(session)
            temp = add_node(session, unit, UnitNodeType.OUTPUT, "current_temp/pepeunit")
            temp.is_data_pipe_active = True
            temp.data_pipe_status = DataPipeStatus.ACTIVE
            temp.data_pipe_yml = (
                '{"active_period":{"type":"Permanent"},"filters":{"type_input_value":"Text",'
                '"max_rate":5,"max_size":100},"processing_policy":{"policy_type":"LastValue"}}'
            )
            status = add_node(session, unit, UnitNodeType.OUTPUT, "status/pepeunit")
            setpoint = add_node(session, unit, UnitNodeType.INPUT, "set_temp")
            return Database(url, unit.name, temp.uuid, status.uuid, setpoint.uuid)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_database(tmp_path) -> Database:
    return seeded_database(f"sqlite:///{tmp_path / 'pepeunit.sqlite'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Database:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_database")
    return seeded_database(request.getfixturevalue("postgres_database").url)


def run_cli(*args: str | Path, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PU_")}
    environment["PU_SQLALCHEMY_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def write_files(directory: Path, documents: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def pipeline_state(url: str) -> tuple[list[tuple], int]:
    """Every pipeline column of every node, and the config version."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(
                    UnitNode.uuid,
                    UnitNode.is_data_pipe_active,
                    UnitNode.data_pipe_yml,
                    UnitNode.data_pipe_status,
                    UnitNode.data_pipe_error,
                ).order_by(UnitNode.uuid)
            ).all()
            return [tuple(row) for row in rows], read_dataflow_config_version(session)
    finally:
        engine.dispose()


def active_nodes(url: str) -> set[UUID]:
    rows, _version = pipeline_state(url)
    return {uuid for uuid, is_active, *_rest in rows if is_active}


def test_apply_prints_each_change_and_a_summary(database, tmp_path):
    directory = write_files(
        tmp_path / "pipelines",
        {
            "status.yaml": f"unit: {database.unit}\ntopic: status/pepeunit\n{N_RECORDS}",
            "temp.yaml": f"node: {database.temp}\n{LAST_VALUE}",
        },
    )

    applied = run_cli("pipelines", "apply", directory, database_url=database.url)

    assert applied.returncode == 0, applied.stderr
    unit = database.unit
    assert applied.stdout.splitlines() == [
        f"created     {unit}/status/pepeunit ({database.status}) from {directory}/status.yaml",
        f"updated     {unit}/current_temp/pepeunit ({database.temp}) from {directory}/temp.yaml",
    ]
    assert applied.stderr.splitlines() == [
        "1 created, 1 updated, 0 unchanged, 0 deactivated; dataflow config version 1"
    ]
    assert active_nodes(database.url) == {database.status, database.temp}

    only_status = tmp_path / "pipelines" / "status.yaml"
    pruned = run_cli("pipelines", "apply", "--prune", only_status, database_url=database.url)

    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines() == [
        f"unchanged   {unit}/status/pepeunit ({database.status}) from {only_status}",
        f"deactivated {unit}/current_temp/pepeunit ({database.temp})",
    ]
    assert "0 created, 0 updated, 1 unchanged, 1 deactivated" in pruned.stderr
    assert active_nodes(database.url) == {database.status}


def test_a_dry_run_prints_the_changes_and_changes_nothing(sqlite_database, tmp_path):
    directory = write_files(
        tmp_path / "pipelines", {"status.yaml": f"node: {sqlite_database.status}\n{LAST_VALUE}"}
    )
    before = pipeline_state(sqlite_database.url)

    result = run_cli(
        "pipelines", "apply", "--dry-run", "--prune", directory, database_url=sqlite_database.url
    )

    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["created", "deactivated"]
    assert "dry run: rolled back, nothing was changed" in result.stderr
    assert pipeline_state(sqlite_database.url) == before


def test_binding_errors_exit_1_in_the_check_format_and_change_nothing(sqlite_database, tmp_path):
    unknown = uuid4()
    directory = write_files(
        tmp_path / "pipelines",
        {
            "a-good.yaml": f"node: {sqlite_database.status}\n{LAST_VALUE}",
            "b-unknown.yaml": f"node: {unknown}\n{LAST_VALUE}",
            "c-input.yaml": f"node: {sqlite_database.setpoint}\n{LAST_VALUE}",
            "d-no-topic.yaml": f"unit: {sqlite_database.unit}\ntopic: x/pepeunit\n{LAST_VALUE}",
        },
    )
    before = pipeline_state(sqlite_database.url)

    result = run_cli("pipelines", "apply", directory, database_url=sqlite_database.url)

    assert result.returncode == 1
    errors = [ERROR_LINE.match(line) for line in result.stdout.splitlines()]
    assert all(errors), result.stdout
    assert [(Path(m["path"]).name, m["stage"], m["field"]) for m in errors] == [
        ("b-unknown.yaml", "Binding", "node"),
        ("c-input.yaml", "Binding", "node"),
        ("d-no-topic.yaml", "Binding", "topic"),
    ]
    assert errors[0]["message"] == f"No unit node with uuid {unknown}"
    assert result.stderr.splitlines() == ["error: 3 binding error(s); nothing was applied"]
    assert pipeline_state(sqlite_database.url) == before


def test_invalid_files_are_reported_before_the_database_is_opened(tmp_path):
    directory = write_files(
        tmp_path / "pipelines",
        {"bad.yaml": f"node: {uuid4()}\n{LAST_VALUE.replace('max_rate: 10', 'max_rate: -1')}"},
    )
    never_created = tmp_path / "never.sqlite"

    result = run_cli("pipelines", "apply", directory, database_url=f"sqlite:///{never_created}")

    assert result.returncode == 1
    assert (
        result.stdout
        == f"{directory}/bad.yaml:3: Filters.max_rate: Input should be greater than or equal to 0\n"
    )
    assert not never_created.exists()


@pytest.mark.parametrize("command", ["apply", "export"])
def test_an_unmigrated_database_gets_a_clear_error(command, tmp_path):
    directory = write_files(tmp_path / "pipelines", {"p.yaml": f"node: {uuid4()}\n{LAST_VALUE}"})
    missing_file = tmp_path / "missing.sqlite"
    empty_file = tmp_path / "empty.sqlite"
    empty_file.touch()

    missing = run_cli("pipelines", command, directory, database_url=f"sqlite:///{missing_file}")
    empty = run_cli("pipelines", command, directory, database_url=f"sqlite:///{empty_file}")

    assert (missing.returncode, empty.returncode) == (1, 1)
    assert missing.stderr == (
        f"error: the SQLite database {missing_file} does not exist: "
        "run the database migrations first: pepeunit migrate\n"
    )
    assert not missing_file.exists()
    assert empty.stderr.startswith(f"error: the database sqlite:///{empty_file} lacks the table")
    assert "run the database migrations first" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_export_writes_files_that_check_accepts_and_apply_leaves_unchanged(
    sqlite_database, tmp_path
):
    directory = write_files(
        tmp_path / "pipelines", {"status.yaml": f"node: {sqlite_database.status}\n{N_RECORDS}"}
    )
    assert (
        run_cli("pipelines", "apply", directory, database_url=sqlite_database.url).returncode == 0
    )
    exported = tmp_path / "exported"

    result = run_cli("pipelines", "export", exported, database_url=sqlite_database.url)

    assert result.returncode == 0, result.stderr
    unit_folder = exported / sqlite_database.unit
    assert result.stdout.splitlines() == [
        str(unit_folder / "current_temp.yaml"),
        str(unit_folder / "status.yaml"),
    ]
    assert result.stderr == f"2 pipeline file(s) written to {exported}\n"
    checked = run_cli("pipelines", "check", exported, database_url=sqlite_database.url)
    assert (checked.returncode, checked.stdout) == (0, "")
    before = pipeline_state(sqlite_database.url)
    again = run_cli("pipelines", "apply", "--prune", exported, database_url=sqlite_database.url)
    assert again.returncode == 0, again.stderr
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["unchanged", "unchanged"]
    assert pipeline_state(sqlite_database.url) == before
