"""Pipeline configs in the SQL database: the stored form, binding resolution, apply and export.

Shared by the CLI (GitOps pipeline files) and the REST API. Functions work inside the caller's
session and never commit: the caller decides whether the transaction is kept.
"""

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import DataPipeStatus
from pepeunit_core.db.models import Unit, UnitNode
from pipelines.binding import BINDING_STAGE, PIPELINE_TOPIC_SUFFIX, Binding
from pipelines.config import PipelineConfig
from pipelines.files import FileIssue, PipelineFile
from pipelines.issues import ValidationIssue
from pipelines.validation import validate_config

# libyaml's dumper when PyYAML has it: node lists render YAML for every node.
_YamlDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# The broker's payload limit guards what is written; a stored config is read as it is, even if
# the limit was lowered since.
_NO_PAYLOAD_LIMIT = sys.maxsize
EXPORT_SUFFIX = ".yaml"


class BindingError(Exception):
    """A binding that does not name an existing node able to run a pipeline."""

    def __init__(self, field: str, message: str, rule: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.rule = rule

    def as_issue(self) -> ValidationIssue:
        return ValidationIssue(BINDING_STAGE, self.field, self.message, self.rule)


class StoredConfigError(ValueError):
    """A stored config that is not JSON or no longer validates."""


def stored_config_json(config: PipelineConfig) -> str:
    """The reference storage form: every key present (null when absent), enums as values;
    our `alerts` extension only when the pipeline has rules."""
    document = config.model_dump(mode="json")
    if document.get("alerts") is None:
        document.pop("alerts", None)
    return json.dumps(document, separators=(",", ":"))


def config_from_stored(text: str) -> PipelineConfig:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StoredConfigError(f"stored config is not JSON: {error}") from None
    config, issues = validate_config(document, _NO_PAYLOAD_LIMIT)
    if config is None:
        problems = "; ".join(str(issue) for issue in issues)
        raise StoredConfigError(f"stored config is not valid: {problems}")
    return config


NO_CONFIG_ERROR = "The data pipe is active but has no config"


# Node reads derive status and YAML from the stored text: a page (≤ 500 nodes) of distinct
# configs is cached whole; texts longer than usual configs are not kept (bounded memory).
_CACHED_CONFIGS = 1024
_CACHED_TEXT_CHARS = 4096


def _stored_config_problem(text: str) -> str | None:
    if len(text) > _CACHED_TEXT_CHARS:
        return _config_problem(text)
    return _cached_config_problem(text)


def _config_problem(text: str) -> str | None:
    try:
        config_from_stored(text)
    except StoredConfigError as error:
        return str(error)
    return None


_cached_config_problem = lru_cache(maxsize=_CACHED_CONFIGS)(_config_problem)


def data_pipe_state(is_active: bool, stored: str | None) -> tuple[DataPipeStatus, str | None]:
    """A node's pipeline status and error from its settings: Inactive when switched off, Error
    (with the problem) when the dataflow cannot run its config, else Active."""
    if not is_active:
        return DataPipeStatus.INACTIVE, None
    if stored is None:
        return DataPipeStatus.ERROR, NO_CONFIG_ERROR
    problem = _stored_config_problem(stored)
    if problem is not None:
        return DataPipeStatus.ERROR, problem
    return DataPipeStatus.ACTIVE, None


def refresh_data_pipe_status(node: UnitNode) -> None:
    """Sets the node's stored status and error after its pipeline settings changed."""
    node.data_pipe_status, node.data_pipe_error = data_pipe_state(
        node.is_data_pipe_active, node.data_pipe_yml
    )


def stored_config_yaml(text: str) -> str:
    """A stored config (JSON) as the YAML a user writes: null keys dropped, key order kept.
    Text that is not a JSON object is returned as it is."""
    if len(text) > _CACHED_TEXT_CHARS:
        return _config_yaml(text)
    return _cached_config_yaml(text)


def _config_yaml(text: str) -> str:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return text
    if not isinstance(document, dict):
        return text
    return yaml.dump(
        _without_nulls(document), Dumper=_YamlDumper, sort_keys=False, allow_unicode=True
    )


_cached_config_yaml = lru_cache(maxsize=_CACHED_CONFIGS)(_config_yaml)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _resolve(session: Session, binding: Binding) -> tuple[UnitNode, Unit]:
    if binding.node is not None:
        node = session.get(UnitNode, binding.node)
        if node is None:
            raise BindingError("node", f"No unit node with uuid {binding.node}", "exists")
        unit = session.get_one(Unit, node.unit_uuid)
    else:
        unit_or_none = session.scalars(select(Unit).where(Unit.name == binding.unit)).one_or_none()
        if unit_or_none is None:
            raise BindingError("unit", f"No unit named {binding.unit!r}", "exists")
        unit = unit_or_none
        nodes = session.scalars(
            select(UnitNode).where(
                UnitNode.unit_uuid == unit.uuid, UnitNode.topic_name == binding.topic
            )
        ).all()
        if not nodes:
            raise BindingError(
                "topic", f"Unit {unit.name!r} has no node with topic {binding.topic!r}", "exists"
            )
        if len(nodes) > 1:
            raise BindingError(
                "topic",
                f"Unit {unit.name!r} has {len(nodes)} nodes with topic {binding.topic!r}: "
                "bind by node uuid",
                "ambiguous",
            )
        node = nodes[0]
    if not node.topic_name.endswith(PIPELINE_TOPIC_SUFFIX):
        raise BindingError(
            "node" if binding.node is not None else "topic",
            f"Unit node {node.uuid} has topic {node.topic_name!r}: pipelines run only on "
            f"topics ending with {PIPELINE_TOPIC_SUFFIX!r}",
            "pipeline_topic",
        )
    return node, unit


def resolve_binding(session: Session, binding: Binding) -> UnitNode:
    """The node a binding names; raises `BindingError` if there is none or it cannot run one."""
    node, _unit = _resolve(session, binding)
    return node


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True, slots=True)
class NodeChange:
    kind: ChangeKind
    node_uuid: UUID
    unit_name: str
    topic_name: str
    path: Path | None
    """The file applied to the node; None for a deactivated node."""


@dataclass(slots=True)
class ApplyReport:
    changes: list[NodeChange] = field(default_factory=list)
    errors: list[FileIssue] = field(default_factory=list)
    """Binding problems; when there are any, nothing was changed."""
    config_version: int | None = None
    """The new dataflow config version, when anything changed."""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return any(change.kind is not ChangeKind.UNCHANGED for change in self.changes)

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind is kind)


@dataclass(frozen=True, slots=True)
class _Target:
    file: PipelineFile
    node: UnitNode
    unit_name: str


def _resolve_files(
    session: Session, files: Sequence[PipelineFile]
) -> tuple[list[_Target], list[FileIssue]]:
    targets: list[_Target] = []
    errors: list[FileIssue] = []
    file_of_node: dict[UUID, Path] = {}
    for pipeline_file in files:
        binding = pipeline_file.binding
        if binding is None:
            issue = ValidationIssue(BINDING_STAGE, "node", "The file has no binding", "missing")
            errors.append(FileIssue(pipeline_file.path, issue))
            continue
        try:
            node, unit = _resolve(session, binding)
        except BindingError as error:
            errors.append(FileIssue(pipeline_file.path, error.as_issue()))
            continue
        first_path = file_of_node.setdefault(node.uuid, pipeline_file.path)
        if first_path != pipeline_file.path:
            issue = ValidationIssue(
                BINDING_STAGE,
                "node" if binding.node is not None else "topic",
                f"Resolves to unit node {node.uuid}, which {first_path} already binds",
                "unique",
            )
            errors.append(FileIssue(pipeline_file.path, issue))
            continue
        targets.append(_Target(pipeline_file, node, unit.name))
    return targets, errors


def _change_kind(node: UnitNode, config: PipelineConfig) -> ChangeKind:
    if not node.is_data_pipe_active or node.data_pipe_yml is None:
        return ChangeKind.CREATED
    try:
        stored = config_from_stored(node.data_pipe_yml)
    except StoredConfigError:
        return ChangeKind.UPDATED
    # Parsed, not textual, comparison: `+00:00` and `Z`, or `2` and `2.0`, are the same config.
    if stored.model_dump() == config.model_dump():
        return ChangeKind.UNCHANGED
    return ChangeKind.UPDATED


def _activate(node: UnitNode, config: PipelineConfig) -> None:
    node.is_data_pipe_active = True
    node.data_pipe_yml = stored_config_json(config)
    refresh_data_pipe_status(node)


def _deactivate_all_but(session: Session, kept: set[UUID]) -> list[NodeChange]:
    rows = session.execute(
        select(UnitNode, Unit.name)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .where(UnitNode.is_data_pipe_active.is_(True), UnitNode.uuid.not_in(kept))
        .order_by(Unit.name, UnitNode.topic_name, UnitNode.uuid)
    ).all()
    changes: list[NodeChange] = []
    for node, unit_name in rows:
        # data_pipe_yml is kept, so the pipeline can be switched on again as it was.
        node.is_data_pipe_active = False
        refresh_data_pipe_status(node)
        changes.append(
            NodeChange(ChangeKind.DEACTIVATED, node.uuid, unit_name, node.topic_name, None)
        )
    return changes


def apply_pipeline_files(
    session: Session, files: Sequence[PipelineFile], *, prune: bool = False
) -> ApplyReport:
    """Makes the files' configs the active pipelines of their nodes, in the caller's transaction.

    Every binding is resolved first: if any fails, nothing is changed and the report holds all
    the errors. With `prune`, active pipelines of nodes no file binds are deactivated (their
    config is kept). The dataflow config version is bumped once when anything changed.
    """
    targets, errors = _resolve_files(session, files)
    if errors:
        return ApplyReport(errors=errors)
    report = ApplyReport()
    for target in targets:
        kind = _change_kind(target.node, target.file.config)
        if kind is not ChangeKind.UNCHANGED:
            _activate(target.node, target.file.config)
        report.changes.append(
            NodeChange(
                kind, target.node.uuid, target.unit_name, target.node.topic_name, target.file.path
            )
        )
    if prune:
        report.changes.extend(_deactivate_all_but(session, {t.node.uuid for t in targets}))
    if report.changed:
        report.config_version = bump_dataflow_config_version(session)
    session.flush()
    return report


class _ExportDumper(yaml.SafeDumper):
    """Block-style sections with flow-style lists, as pipeline files are usually written."""


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)


_ExportDumper.add_representer(list, _represent_list)


_PATH_SEPARATORS = ("/", "\\", "\0")


def _is_safe_path_segment(segment: str) -> bool:
    # A hidden name would be skipped when the folder is checked or applied again.
    return (
        bool(segment)
        and not segment.startswith(".")
        and not any(separator in segment for separator in _PATH_SEPARATORS)
    )


def pipeline_file_location(
    directory: Path, node: UnitNode, unit_name: str, ambiguous: bool
) -> tuple[dict[str, str], Path]:
    """Bound by unit and topic where that names the node and makes a safe path, else by uuid."""
    topic_parts = node.topic_name.removesuffix(PIPELINE_TOPIC_SUFFIX).split("/")
    if (
        not ambiguous
        and node.topic_name.endswith(PIPELINE_TOPIC_SUFFIX)
        and _is_safe_path_segment(unit_name)
        and all(_is_safe_path_segment(part) for part in topic_parts)
    ):
        *folders, name = topic_parts
        path = directory.joinpath(unit_name, *folders, f"{name}{EXPORT_SUFFIX}")
        return {"unit": unit_name, "topic": node.topic_name}, path
    return {"node": str(node.uuid)}, directory / f"{node.uuid}{EXPORT_SUFFIX}"


def config_without_nulls(config: PipelineConfig) -> dict[str, Any]:
    """The config as a plain document without null keys (for YAML: files and the API)."""

    document: dict[str, Any] = _without_nulls(config.model_dump(mode="json"))
    return document


def render_pipeline_file(node_uuid: UUID, binding: dict[str, str], config: PipelineConfig) -> str:
    header = f"# Unit node {node_uuid}, exported by `pepeunit pipelines export`.\n"
    body = yaml.dump(
        {**binding, **config_without_nulls(config)},
        Dumper=_ExportDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return header + body


def export_pipeline_files(session: Session, directory: Path) -> list[Path]:
    """Writes one pipeline file per node with an active pipeline; returns the paths written.

    Raises `StoredConfigError` (naming the node) before writing anything if a stored config
    cannot be read. Existing files at the same paths are overwritten; others are left alone.
    """
    rows = session.execute(
        select(UnitNode, Unit.name)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .where(UnitNode.is_data_pipe_active.is_(True), UnitNode.data_pipe_yml.is_not(None))
        .order_by(Unit.name, UnitNode.topic_name, UnitNode.uuid)
    ).all()
    shared_topics = {
        (unit_uuid, topic)
        for unit_uuid, topic in session.execute(
            select(UnitNode.unit_uuid, UnitNode.topic_name)
            .group_by(UnitNode.unit_uuid, UnitNode.topic_name)
            .having(func.count() > 1)
        )
    }
    rendered: list[tuple[Path, str]] = []
    for node, unit_name in rows:
        try:
            config = config_from_stored(node.data_pipe_yml)
        except StoredConfigError as error:
            raise StoredConfigError(f"unit node {node.uuid}: {error}") from None
        ambiguous = (node.unit_uuid, node.topic_name) in shared_topics
        binding, path = pipeline_file_location(directory, node, unit_name, ambiguous)
        rendered.append((path, render_pipeline_file(node.uuid, binding, config)))
    for path, text in rendered:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [path for path, _text in rendered]
