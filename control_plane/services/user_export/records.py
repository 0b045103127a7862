"""What a per-user archive says about each object it holds (its `records.json`), as read back
by an import: every field typed and bounded, nothing unknown accepted, every reference between
records checked (docs/user-export.md#archive-format)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from control_plane.models.common import EntityName, NulFreeText
from control_plane.models.dashboard import DashboardPanelType
from control_plane.models.repo import BranchName, CommitHash
from control_plane.models.repository_registry import RepositoryUrl
from control_plane.models.unit_node import MAX_CONNECTIONS_LIMIT, MAX_STATE_CHARS
from control_plane.services.firmware import ReservedEnvName
from pepeunit_core.db.enums import RepositoryPlatform, UnitNodeType, VisibilityLevel

MemberName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Topic = Annotated[NulFreeText, StringConstraints(min_length=1, max_length=1024)]
MAX_RECORDS = 100_000
DERIVED_ENV = frozenset(ReservedEnvName) - {
    ReservedEnvName.PU_SECRET_KEY,
    ReservedEnvName.PU_ENCRYPT_KEY,
}
"""Reserved env values the serving instance makes (domain, token, broker...): never in an
archive. A unit's own keys are kept."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistryRecord(_Record):
    uuid: UUID
    repository_url: RepositoryUrl
    platform: RepositoryPlatform
    is_public_repository: bool
    created_by_owner: bool
    """The user created it (else it is there because one of their repos is built on it)."""


class RepoRecord(_Record):
    uuid: UUID
    name: EntityName
    visibility_level: VisibilityLevel
    default_branch: BranchName | None
    is_compilable_repo: bool
    is_auto_update_repo: bool
    default_commit: CommitHash | None
    is_only_tag_update: bool
    repository_registry_uuid: UUID


class UnitRecord(_Record):
    uuid: UUID
    name: EntityName
    visibility_level: VisibilityLevel
    is_auto_update_from_repo_unit: bool
    target_firmware_platform: BranchName | None
    repo_branch: BranchName | None
    repo_commit: CommitHash | None
    repo_uuid: UUID | None
    """The repo, when the archive holds it (the user's own)."""
    repo_name: EntityName
    """The repo by name: how an import finds another user's repo the unit is built on."""
    env: dict[str, Any] | None
    """The unit's stored env without the values the instance derives; only in an archive made
    with secrets (else None)."""
    state_storage: Annotated[str, StringConstraints(max_length=1_000_000)] | None
    """What the unit stored with `set_state_storage`; only with secrets."""


class NodeRecord(_Record):
    uuid: UUID
    unit_uuid: UUID
    type: UnitNodeType
    topic_name: Topic
    visibility_level: VisibilityLevel
    is_rewritable_input: bool
    max_connections: Annotated[int, Field(ge=1, le=MAX_CONNECTIONS_LIMIT)]
    state: Annotated[NulFreeText, StringConstraints(max_length=MAX_STATE_CHARS)] | None
    state_datetime: datetime
    is_data_pipe_active: bool
    pipeline: MemberName | None
    """The member with the node's pipeline file, if it has a config."""
    rows: MemberName | None
    """The member with the node's stored rows as CSV (NRecords, TimeWindow, Aggregation)."""


class EdgeRecord(_Record):
    node_output_uuid: UUID
    node_input_uuid: UUID


class PanelNodeRecord(_Record):
    unit_node_uuid: UUID
    is_last_data: bool
    is_forced_to_json: bool


class PanelRecord(_Record):
    title: EntityName
    type: DashboardPanelType
    nodes: list[PanelNodeRecord] = Field(max_length=MAX_RECORDS)


class DashboardRecord(_Record):
    name: EntityName
    panels: list[PanelRecord] = Field(max_length=MAX_RECORDS)


class UserRecords(_Record):
    """Everything of `records.json`; the validators check the references between records."""

    registries: list[RegistryRecord] = Field(max_length=MAX_RECORDS)
    repos: list[RepoRecord] = Field(max_length=MAX_RECORDS)
    units: list[UnitRecord] = Field(max_length=MAX_RECORDS)
    nodes: list[NodeRecord] = Field(max_length=MAX_RECORDS)
    edges: list[EdgeRecord] = Field(max_length=MAX_RECORDS)
    dashboards: list[DashboardRecord] = Field(max_length=MAX_RECORDS)

    @model_validator(mode="after")
    def _references_resolve(self) -> "UserRecords":
        registries = _unique("registries", [record.uuid for record in self.registries])
        _unique("registry URLs", [record.repository_url for record in self.registries])
        repos = _unique("repos", [record.uuid for record in self.repos])
        _unique("repo names", [record.name for record in self.repos])
        units = _unique("units", [record.uuid for record in self.units])
        _unique("unit names", [record.name for record in self.units])
        nodes = {record.uuid: record for record in self.nodes}
        _unique("nodes", [record.uuid for record in self.nodes])
        _unique(
            "topics of a unit",
            [(node.unit_uuid, node.type.value, node.topic_name) for node in self.nodes],
        )
        _unique(
            "members",
            [name for node in self.nodes for name in (node.pipeline, node.rows) if name],
        )
        for repo in self.repos:
            _refers("repo", repo.name, "registry", repo.repository_registry_uuid, registries)
        for unit in self.units:
            if unit.repo_uuid is not None:
                _refers("unit", unit.name, "repo", unit.repo_uuid, repos)
        for node in self.nodes:
            _refers("node", str(node.uuid), "unit", node.unit_uuid, units)
        for edge in self.edges:
            output = nodes.get(edge.node_output_uuid)
            input_ = nodes.get(edge.node_input_uuid)
            if output is None or output.type is not UnitNodeType.OUTPUT:
                raise ValueError(
                    f"edge from {edge.node_output_uuid}: no Output node of the archive"
                )
            if input_ is None or input_.type is not UnitNodeType.INPUT:
                raise ValueError(f"edge to {edge.node_input_uuid}: no Input node of the archive")
        for dashboard in self.dashboards:
            for panel in dashboard.panels:
                _unique(
                    f"nodes of panel {panel.title}", [link.unit_node_uuid for link in panel.nodes]
                )
                for link in panel.nodes:
                    _refers("panel", panel.title, "node", link.unit_node_uuid, set(nodes))
        return self


def _unique(what: str, keys: list[Any]) -> set[Any]:
    seen: set[Any] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{what}: {key} appears twice")
        seen.add(key)
    return seen


def _refers(kind: str, name: str, what: str, uuid: UUID, known: set[UUID]) -> None:
    if uuid not in known:
        raise ValueError(f"{kind} {name} names {what} {uuid}, which the archive does not hold")
