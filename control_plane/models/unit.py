"""Unit API schemas, with the reference's names (UnitCreate, UnitRead, UnitsResult, ...)."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pepeunit_core.db.enums import FirmwareUpdateStatus, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Unit

from .common import EntityName, OrderByDate, SearchString
from .repo import BranchName, CommitHash

PlatformName = BranchName


class UnitCreate(BaseModel):
    repo_uuid: UUID
    visibility_level: VisibilityLevel = VisibilityLevel.PUBLIC
    name: EntityName
    is_auto_update_from_repo_unit: bool = True
    target_firmware_platform: PlatformName | None = None
    repo_branch: BranchName | None = None
    repo_commit: CommitHash | None = None


class UnitUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    visibility_level: VisibilityLevel | None = None
    name: EntityName | None = None
    is_auto_update_from_repo_unit: bool | None = None
    target_firmware_platform: PlatformName | None = None
    repo_branch: BranchName | None = None
    repo_commit: CommitHash | None = None


class UnitNodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    type: UnitNodeType
    visibility_level: VisibilityLevel
    is_rewritable_input: bool
    max_connections: int
    topic_name: str
    is_data_pipe_active: bool
    create_datetime: datetime
    last_update_datetime: datetime
    creator_uuid: UUID | None
    unit_uuid: UUID


class UnitStateRead(BaseModel):
    """The last accepted `state/pepeunit` message (reserved keys only)."""

    ifconfig: list[Any] = Field(default_factory=list)
    millis: float | None = None
    mem_free: float | None = None
    mem_alloc: float | None = None
    freq: float | None = None
    statvfs: list[Any] = Field(default_factory=list)
    pu_commit_version: str | None = None


def parse_unit_state(text: str | None) -> UnitStateRead | None:
    """The stored state, or None when there is none or it is not a usable JSON object."""
    if not text:
        return None
    try:
        return UnitStateRead.model_validate_json(text)
    except ValidationError:
        return None


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    visibility_level: VisibilityLevel
    name: str
    create_datetime: datetime
    is_auto_update_from_repo_unit: bool
    target_firmware_platform: str | None
    repo_branch: str | None
    repo_commit: str | None
    current_commit_version: str | None
    firmware_update_status: FirmwareUpdateStatus | None
    firmware_update_error: str | None
    last_firmware_update_datetime: datetime | None
    last_update_datetime: datetime
    creator_uuid: UUID | None
    repo_uuid: UUID
    unit_state: UnitStateRead | None = None
    unit_nodes: list[UnitNodeRead] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _state_of_row(cls, data: Any) -> Any:
        """Rows carry the state as JSON text in `unit_state_dict`."""
        if isinstance(data, Unit):
            skipped = {"unit_state", "unit_nodes"}
            fields = {name: getattr(data, name) for name in cls.model_fields if name not in skipped}
            return fields | {"unit_state": parse_unit_state(data.unit_state_dict)}
        return data


class UnitsResult(BaseModel):
    count: int
    units: list[UnitRead]


class OrderByName(StrEnum):
    ASC = "asc"
    DESC = "desc"


class UnitFilter(BaseModel):
    """Query filters of `GET /units`; list filters repeat (`visibility_level=Public&...`)."""

    uuids: list[UUID] = Field(default_factory=list, max_length=500)
    creator_uuid: UUID | None = None
    repo_uuid: UUID | None = None
    repos_uuids: list[UUID] = Field(default_factory=list, max_length=500)
    search_string: SearchString | None = Field(default=None, description="Matched on the name.")
    is_auto_update_from_repo_unit: bool | None = None
    visibility_level: list[VisibilityLevel] = Field(default_factory=list)
    order_by_unit_name: OrderByName | None = None
    order_by_create_date: OrderByDate = OrderByDate.DESC
    order_by_last_update: OrderByDate | None = None
    is_include_output_unit_nodes: bool = False
    unit_node_input_uuid: UUID | None = Field(
        default=None,
        description="With is_include_output_unit_nodes: only units with an Output node linked "
        "to this Input node, with those nodes.",
    )
    unit_node_type: list[UnitNodeType] = Field(default_factory=list)
    unit_node_uuids: list[UUID] = Field(default_factory=list, max_length=500)


class TargetVersionRead(BaseModel):
    commit: str
    tag: str | None = None
