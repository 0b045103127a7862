"""Pipeline configs in the SQL database: apply, binding errors, prune, version bumps, export."""

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.db.config_version import read_dataflow_config_version
from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.pipeline_store import (
    ApplyReport,
    BindingError,
    ChangeKind,
    StoredConfigError,
    apply_pipeline_files,
    config_from_stored,
    export_pipeline_files,
    resolve_binding,
    stored_config_json,
)
from pipelines.binding import Binding
from pipelines.config import PipelineConfig
from pipelines.files import PipelineFile, check_pipeline_files
from pipelines.validation import validate_config
from tests.pepeunit_core.builders import (
    add_node,
    add_registry,
    add_repo,
    add_unit,
    add_unit_tree,
)

DEFAULT_LAST_VALUE = """\
active_period: {type: Permanent}
filters: {type_input_value: Text, max_rate: 5, last_unique_check: false, max_size: 100}
processing_policy: {policy_type: LastValue}
"""
"""What the platform stores on every new `/pepeunit` node (docs/pipelines.md#default-pipeline)."""
DEFAULT_PIPELINE = PipelineConfig.model_validate(yaml.safe_load(DEFAULT_LAST_VALUE))

AGGREGATION = """\
active_period: {type: DateRange, start: 2024-01-01T00:00:00Z, end: 2030-01-01T00:00:00+01:00}
filters:
  type_input_value: Number
  type_value_filtering: BlackList
  filtering_values: [-127, 85]
  type_value_threshold: Range
  threshold_min: -800
  threshold_max: 1920
  max_rate: 0
  max_size: 32
transformations: {multiplication_ratio: 0.0625, round_decimal_point: 2}
processing_policy: {policy_type: Aggregation, time_window_size: 900, aggregation_functions: Avg}
"""
N_RECORDS = """\
active_period: {type: FromDate, start: 2024-01-01T00:00:00Z}
filters:
  type_input_value: Text
  type_value_filtering: WhiteList
  filtering_values: [Open, "yes", "1", Grüße]
  max_rate: 0
  last_unique_check: true
  max_size: 16
processing_policy: {policy_type: NRecords, n_records_count: 256}
"""
TIME_WINDOW = """\
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 60, max_size: 16}
transformations: {}
processing_policy: {policy_type: TimeWindow, time_window_size: 3600}
"""
LAST_VALUE = """\
active_period: {type: Permanent}
filters: {type_input_value: Text, max_rate: 10, max_size: 64}
processing_policy: {policy_type: LastValue}
"""


@dataclass(frozen=True)
class Nodes:
    temp: UUID
    """greenhouse-01 current_temp/pepeunit, with the platform's default pipeline active."""
    humidity: UUID
    """greenhouse-01 humidity/pepeunit, no pipeline."""
    setpoint: UUID
    """greenhouse-01 set_temp, an input topic that cannot run a pipeline."""
    status: UUID
    """pump-01 status/pepeunit, no pipeline."""


@pytest.fixture
def nodes(session_factory: sessionmaker[Session]) -> Nodes:
    with session_factory.begin() as session:
        user, greenhouse = add_unit_tree(session)
        greenhouse.name = "greenhouse-01"
        pump = add_unit(session, user, add_repo(session, user, add_registry(session, user)))
        pump.name = "pump-01"
        temp = add_node(session, greenhouse, UnitNodeType.OUTPUT, "current_temp/pepeunit")
        temp.is_data_pipe_active = True
        temp.data_pipe_yml = stored_config_json(DEFAULT_PIPELINE)
        temp.data_pipe_status = DataPipeStatus.ACTIVE
        humidity = add_node(session, greenhouse, UnitNodeType.OUTPUT, "humidity/pepeunit")
        setpoint = add_node(session, greenhouse, UnitNodeType.INPUT, "set_temp")
        status = add_node(session, pump, UnitNodeType.OUTPUT, "status/pepeunit")
        return Nodes(temp.uuid, humidity.uuid, setpoint.uuid, status.uuid)


def pipeline_files(directory: Path, documents: dict[str, str]) -> list[PipelineFile]:
    """Writes `name: text` files and loads them as `apply` would (they must be valid)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (directory / name).write_text(text, encoding="utf-8")
    report = check_pipeline_files([directory / name for name in documents])
    assert report.ok, [str(problem) for problem in report.errors]
    return report.files


def bound_to(node: UUID, config: str) -> str:
    return f"node: {node}\n{config}"


def bound_by_topic(unit: str, topic: str, config: str) -> str:
    return f"unit: {unit}\ntopic: {topic}\n{config}"


def apply(
    session_factory: sessionmaker[Session], files: list[PipelineFile], *, prune: bool = False
) -> ApplyReport:
    with session_factory.begin() as session:
        return apply_pipeline_files(session, files, prune=prune)


def kinds(report: ApplyReport) -> dict[UUID, ChangeKind]:
    return {change.node_uuid: change.kind for change in report.changes}


def node_row(session_factory: sessionmaker[Session], node: UUID) -> UnitNode:
    with session_factory() as session:
        return session.get_one(UnitNode, node)


def database_state(session_factory: sessionmaker[Session]) -> tuple[list[tuple], int]:
    """Every pipeline column of every node, and the config version."""
    with session_factory() as session:
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


def config_version(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return read_dataflow_config_version(session)


def test_apply_creates_updates_and_leaves_unchanged(session_factory, nodes, tmp_path):
    files = pipeline_files(
        tmp_path,
        {
            "temp.yaml": bound_to(nodes.temp, AGGREGATION),
            "humidity.yaml": bound_by_topic("greenhouse-01", "humidity/pepeunit", TIME_WINDOW),
            "status.yaml": bound_by_topic("pump-01", "status/pepeunit", N_RECORDS),
        },
    )

    first = apply(session_factory, files)

    assert first.ok
    assert [(c.kind, c.unit_name, c.topic_name, c.path) for c in first.changes] == [
        (ChangeKind.UPDATED, "greenhouse-01", "current_temp/pepeunit", tmp_path / "temp.yaml"),
        (ChangeKind.CREATED, "greenhouse-01", "humidity/pepeunit", tmp_path / "humidity.yaml"),
        (ChangeKind.CREATED, "pump-01", "status/pepeunit", tmp_path / "status.yaml"),
    ]
    for pipeline_file, node in zip(files, (nodes.temp, nodes.humidity, nodes.status), strict=True):
        row = node_row(session_factory, node)
        assert row.is_data_pipe_active
        assert row.data_pipe_status is DataPipeStatus.ACTIVE
        assert row.data_pipe_error is None
        assert config_from_stored(row.data_pipe_yml) == pipeline_file.config

    again = apply(session_factory, files)
    assert set(kinds(again).values()) == {ChangeKind.UNCHANGED}
    assert not again.changed

    edited = pipeline_files(
        tmp_path / "edited",
        {"humidity.yaml": bound_to(nodes.humidity, TIME_WINDOW.replace("60,", "30,"))},
    )
    third = apply(session_factory, [files[0], edited[0], files[2]])
    assert kinds(third) == {
        nodes.temp: ChangeKind.UNCHANGED,
        nodes.humidity: ChangeKind.UPDATED,
        nodes.status: ChangeKind.UNCHANGED,
    }
    humidity = config_from_stored(node_row(session_factory, nodes.humidity).data_pipe_yml)
    assert humidity.filters.max_rate == 30


def test_configs_are_compared_parsed_not_as_text(session_factory, nodes, tmp_path):
    # What another writer might have stored: no null keys, other key order, `+00:00`, `2`.
    stored_by_someone_else = json.dumps(
        {
            "processing_policy": {"policy_type": "LastValue"},
            "filters": {"max_size": 64, "max_rate": 10, "type_input_value": "Text"},
            "active_period": {"type": "FromDate", "start": "2024-01-01T01:00:00+01:00"},
            "transformations": {"multiplication_ratio": 2},
        }
    )
    with session_factory.begin() as session:
        session.get_one(UnitNode, nodes.temp).data_pipe_yml = stored_by_someone_else
    same_config = """\
active_period: {type: FromDate, start: 2024-01-01T00:00:00Z}
filters: {type_input_value: Text, max_rate: 10, max_size: 64}
transformations: {multiplication_ratio: 2.0}
processing_policy: {policy_type: LastValue}
"""
    files = pipeline_files(tmp_path, {"temp.yaml": bound_to(nodes.temp, same_config)})

    report = apply(session_factory, files)

    assert kinds(report) == {nodes.temp: ChangeKind.UNCHANGED}
    assert node_row(session_factory, nodes.temp).data_pipe_yml == stored_by_someone_else


def test_the_stored_json_has_every_key_and_validates_again(session_factory, nodes, tmp_path):
    files = pipeline_files(tmp_path, {"status.yaml": bound_to(nodes.status, N_RECORDS)})

    apply(session_factory, files)

    stored = node_row(session_factory, nodes.status).data_pipe_yml
    assert json.loads(stored) == {
        "active_period": {"type": "FromDate", "start": "2024-01-01T00:00:00Z", "end": None},
        "filters": {
            "type_input_value": "Text",
            "type_value_filtering": "WhiteList",
            "filtering_values": ["Open", "yes", "1", "Grüße"],
            "type_value_threshold": None,
            "threshold_min": None,
            "threshold_max": None,
            "max_rate": 0,
            "last_unique_check": True,
            "max_size": 16,
        },
        "transformations": None,
        "processing_policy": {
            "policy_type": "NRecords",
            "n_records_count": 256,
            "time_window_size": None,
            "aggregation_functions": None,
        },
    }
    assert stored == stored_config_json(files[0].config)
    config, issues = validate_config(json.loads(stored))
    assert issues == []
    assert config == files[0].config == config_from_stored(stored)


def test_config_from_stored_rejects_what_is_not_a_valid_config():
    with pytest.raises(StoredConfigError, match="not JSON"):
        config_from_stored("active_period: {type: Permanent}")
    with pytest.raises(StoredConfigError, match=r"Filters\.max_rate"):
        config_from_stored(
            '{"active_period": {"type": "Permanent"}, "filters": {"type_input_value": "Text",'
            ' "max_size": 1}, "processing_policy": {"policy_type": "LastValue"}}'
        )


def test_resolve_binding_finds_nodes_or_says_why_not(session_factory, nodes):
    def resolve(**binding: object) -> UUID:
        with session_factory() as session:
            return resolve_binding(session, Binding.model_validate(binding)).uuid

    def refused(**binding: object) -> BindingError:
        with pytest.raises(BindingError) as raised:
            resolve(**binding)
        return raised.value

    assert resolve(node=nodes.temp) == nodes.temp
    assert resolve(unit="pump-01", topic="status/pepeunit") == nodes.status

    unknown = uuid4()
    missing_node = refused(node=unknown)
    assert (missing_node.field, str(missing_node)) == ("node", f"No unit node with uuid {unknown}")
    missing_unit = refused(unit="pump-02", topic="status/pepeunit")
    assert (missing_unit.field, str(missing_unit)) == ("unit", "No unit named 'pump-02'")
    wrong_topic = refused(unit="pump-01", topic="speed/pepeunit")
    assert (wrong_topic.field, str(wrong_topic)) == (
        "topic",
        "Unit 'pump-01' has no node with topic 'speed/pepeunit'",
    )
    not_a_pipeline_topic = refused(node=nodes.setpoint)
    assert not_a_pipeline_topic.field == "node"
    assert str(not_a_pipeline_topic) == (
        f"Unit node {nodes.setpoint} has topic 'set_temp': "
        "pipelines run only on topics ending with '/pepeunit'"
    )


def test_a_topic_shared_by_two_nodes_of_a_unit_must_be_bound_by_uuid(session_factory, nodes):
    with session_factory.begin() as session:
        pump = session.scalars(select(Unit).where(Unit.name == "pump-01")).one()
        add_node(session, pump, UnitNodeType.INPUT, "status/pepeunit")

    with session_factory() as session, pytest.raises(BindingError) as raised:
        resolve_binding(session, Binding(unit="pump-01", topic="status/pepeunit"))

    assert raised.value.field == "topic"
    assert raised.value.rule == "ambiguous"
    assert "bind by node uuid" in str(raised.value)


def test_binding_errors_are_all_reported_and_change_nothing(session_factory, nodes, tmp_path):
    files = pipeline_files(
        tmp_path,
        {
            "good.yaml": bound_by_topic("pump-01", "status/pepeunit", LAST_VALUE),
            "missing-node.yaml": bound_to(uuid4(), LAST_VALUE),
            "missing-unit.yaml": bound_by_topic("pump-02", "status/pepeunit", LAST_VALUE),
            "wrong-topic.yaml": bound_by_topic("pump-01", "speed/pepeunit", LAST_VALUE),
            "input-topic.yaml": bound_to(nodes.setpoint, LAST_VALUE),
            "temp-by-uuid.yaml": bound_to(nodes.temp, AGGREGATION),
            "temp-by-topic.yaml": bound_by_topic(
                "greenhouse-01", "current_temp/pepeunit", N_RECORDS
            ),
        },
    )
    before = database_state(session_factory)

    report = apply(session_factory, files, prune=True)

    assert [(p.path.name, p.issue.stage, p.issue.field, p.issue.rule) for p in report.errors] == [
        ("missing-node.yaml", "Binding", "node", "exists"),
        ("missing-unit.yaml", "Binding", "unit", "exists"),
        ("wrong-topic.yaml", "Binding", "topic", "exists"),
        ("input-topic.yaml", "Binding", "node", "pipeline_topic"),
        ("temp-by-topic.yaml", "Binding", "topic", "unique"),
    ]
    assert report.errors[-1].issue.message == (
        f"Resolves to unit node {nodes.temp}, which {tmp_path / 'temp-by-uuid.yaml'} already binds"
    )
    assert report.changes == []
    assert report.config_version is None
    assert database_state(session_factory) == before


def test_prune_deactivates_other_pipelines_and_keeps_their_config(session_factory, nodes, tmp_path):
    status_only = pipeline_files(
        tmp_path, {"status.yaml": bound_by_topic("pump-01", "status/pepeunit", LAST_VALUE)}
    )
    default_yml = node_row(session_factory, nodes.temp).data_pipe_yml

    without_prune = apply(session_factory, status_only)

    assert kinds(without_prune) == {nodes.status: ChangeKind.CREATED}
    assert node_row(session_factory, nodes.temp).is_data_pipe_active

    with_prune = apply(session_factory, status_only, prune=True)

    assert [(c.kind, c.node_uuid, c.path) for c in with_prune.changes] == [
        (ChangeKind.UNCHANGED, nodes.status, tmp_path / "status.yaml"),
        (ChangeKind.DEACTIVATED, nodes.temp, None),
    ]
    temp = node_row(session_factory, nodes.temp)
    assert not temp.is_data_pipe_active
    assert temp.data_pipe_status is DataPipeStatus.INACTIVE
    assert temp.data_pipe_yml == default_yml
    assert node_row(session_factory, nodes.status).is_data_pipe_active

    assert kinds(apply(session_factory, status_only, prune=True)) == {
        nodes.status: ChangeKind.UNCHANGED
    }
    default_file = pipeline_files(
        tmp_path / "default", {"temp.yaml": bound_to(nodes.temp, DEFAULT_LAST_VALUE)}
    )
    re_enabled = apply(session_factory, default_file)
    assert kinds(re_enabled) == {nodes.temp: ChangeKind.CREATED}
    assert node_row(session_factory, nodes.temp).data_pipe_yml == default_yml


def test_the_config_version_moves_once_per_apply_that_changes_something(
    session_factory, nodes, tmp_path
):
    files = pipeline_files(
        tmp_path,
        {
            "temp.yaml": bound_to(nodes.temp, AGGREGATION),
            "humidity.yaml": bound_to(nodes.humidity, TIME_WINDOW),
            "status.yaml": bound_to(nodes.status, N_RECORDS),
        },
    )
    assert config_version(session_factory) == 0

    first = apply(session_factory, files)
    assert (first.count(ChangeKind.CREATED), first.count(ChangeKind.UPDATED)) == (2, 1)
    assert first.config_version == config_version(session_factory) == 1

    unchanged = apply(session_factory, files, prune=True)
    assert unchanged.config_version is None
    assert config_version(session_factory) == 1

    pruned = apply(session_factory, files[:2], prune=True)
    assert pruned.count(ChangeKind.DEACTIVATED) == 1
    assert pruned.config_version == config_version(session_factory) == 2


def test_export_then_apply_reports_everything_unchanged(session_factory, nodes, tmp_path):
    apply(
        session_factory,
        pipeline_files(
            tmp_path / "applied",
            {
                "humidity.yaml": bound_to(nodes.humidity, TIME_WINDOW),
                "status.yaml": bound_to(nodes.status, N_RECORDS),
            },
        ),
    )
    before = database_state(session_factory)

    with session_factory() as session:
        written = export_pipeline_files(session, tmp_path / "exported")

    assert written == [
        tmp_path / "exported" / "greenhouse-01" / "current_temp.yaml",
        tmp_path / "exported" / "greenhouse-01" / "humidity.yaml",
        tmp_path / "exported" / "pump-01" / "status.yaml",
    ]
    report = check_pipeline_files([tmp_path / "exported"])
    assert report.ok and report.warnings == []
    assert [f.path for f in report.files] == written
    again = apply(session_factory, report.files, prune=True)
    assert kinds(again) == dict.fromkeys(
        (nodes.temp, nodes.humidity, nodes.status), ChangeKind.UNCHANGED
    )
    assert database_state(session_factory) == before


def test_an_exported_file_is_bound_by_unit_and_topic_without_nulls(
    session_factory, nodes, tmp_path
):
    apply(session_factory, pipeline_files(tmp_path, {"t.yaml": bound_to(nodes.temp, AGGREGATION)}))

    with session_factory() as session:
        [path] = export_pipeline_files(session, tmp_path / "exported")

    assert path == tmp_path / "exported" / "greenhouse-01" / "current_temp.yaml"
    assert path.read_text(encoding="utf-8") == (
        f"# Unit node {nodes.temp}, exported by `pepeunit pipelines export`.\n"
        "unit: greenhouse-01\n"
        "topic: current_temp/pepeunit\n"
        "active_period:\n"
        "  type: DateRange\n"
        "  start: '2024-01-01T00:00:00Z'\n"
        "  end: '2030-01-01T00:00:00+01:00'\n"
        "filters:\n"
        "  type_input_value: Number\n"
        "  type_value_filtering: BlackList\n"
        "  filtering_values: [-127, 85]\n"
        "  type_value_threshold: Range\n"
        "  threshold_min: -800\n"
        "  threshold_max: 1920\n"
        "  max_rate: 0\n"
        "  last_unique_check: false\n"
        "  max_size: 32\n"
        "transformations:\n"
        "  multiplication_ratio: 0.0625\n"
        "  round_decimal_point: 2\n"
        "processing_policy:\n"
        "  policy_type: Aggregation\n"
        "  time_window_size: 900\n"
        "  aggregation_functions: Avg\n"
    )
    [exported] = check_pipeline_files([path]).files
    assert exported.binding == Binding(unit="greenhouse-01", topic="current_temp/pepeunit")
    assert exported.config == node_row_config(session_factory, nodes.temp)


def node_row_config(session_factory: sessionmaker[Session], node: UUID) -> PipelineConfig:
    return config_from_stored(node_row(session_factory, node).data_pipe_yml)


def test_export_binds_by_uuid_when_unit_and_topic_cannot_name_the_file(
    session_factory, nodes, tmp_path
):
    with session_factory.begin() as session:
        pump = session.scalars(select(Unit).where(Unit.name == "pump-01")).one()
        add_node(session, pump, UnitNodeType.INPUT, "status/pepeunit")  # now ambiguous
        greenhouse = session.get_one(UnitNode, nodes.temp).unit_uuid
        session.get_one(Unit, greenhouse).name = ".greenhouse"  # hidden: check would skip it
    apply(session_factory, pipeline_files(tmp_path, {"s.yaml": bound_to(nodes.status, N_RECORDS)}))

    with session_factory() as session:
        written = export_pipeline_files(session, tmp_path / "exported")

    assert sorted(written) == sorted(
        [
            tmp_path / "exported" / f"{nodes.temp}.yaml",
            tmp_path / "exported" / f"{nodes.status}.yaml",
        ]
    )
    report = check_pipeline_files([tmp_path / "exported"])
    assert {f.binding.node for f in report.files} == {nodes.temp, nodes.status}
    assert set(kinds(apply(session_factory, report.files)).values()) == {ChangeKind.UNCHANGED}


def test_export_refuses_an_unreadable_stored_config_before_writing(
    session_factory, nodes, tmp_path
):
    with session_factory.begin() as session:
        session.get_one(UnitNode, nodes.temp).data_pipe_yml = "{broken"

    with session_factory() as session, pytest.raises(StoredConfigError, match=str(nodes.temp)):
        export_pipeline_files(session, tmp_path / "exported")

    assert not (tmp_path / "exported").exists()


def test_an_unreadable_stored_config_is_updated_by_apply(session_factory, nodes, tmp_path):
    with session_factory.begin() as session:
        session.get_one(UnitNode, nodes.temp).data_pipe_yml = "{broken"
    files = pipeline_files(tmp_path, {"temp.yaml": bound_to(nodes.temp, LAST_VALUE)})

    assert kinds(apply(session_factory, files)) == {nodes.temp: ChangeKind.UPDATED}
    assert node_row_config(session_factory, nodes.temp) == files[0].config
