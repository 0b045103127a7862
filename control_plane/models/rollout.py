"""Rollout API schemas (docs/api.md#rollouts)."""

import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pepeunit_core.db.enums import (
    OfflineUnitPolicy,
    RollbackScope,
    RolloutStageSize,
    RolloutStatus,
    RolloutTargetKind,
    RolloutUnitOutcome,
)
from pipelines.alert_rules import ThresholdRule

from .common import NulFreeText
from .repo import BranchName

MAX_STAGES = 20
MAX_UNITS = 10_000
WEEK_S = 7 * 24 * 3600
MAX_COUNT = 1_000_000_000

MAX_NODE_BOUNDS = 16

TargetRef = Annotated[NulFreeText, StringConstraints(min_length=1, max_length=255)]


class NodeBound(BaseModel):
    """A value gate: the unit's node named `topic_name` must not raise `rule` (a threshold
    alert rule of the pipeline language) while its stage soaks."""

    model_config = ConfigDict(extra="forbid")

    topic_name: TargetRef
    rule: ThresholdRule


class RolloutStageCreate(BaseModel):
    size_kind: RolloutStageSize
    size_value: int = Field(ge=0, le=MAX_UNITS)
    soak_seconds: int = Field(ge=0, le=WEEK_S)
    confirm_deadline_seconds: int = Field(gt=0, le=WEEK_S)
    max_error_log_increase: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    max_rejection_increase: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class RolloutCreate(BaseModel):
    repo_uuid: UUID
    unit_uuids: list[UUID] | None = Field(
        default=None,
        max_length=MAX_UNITS,
        description="The units to update, in stage order; left out: every unit of the repo "
        "the caller created.",
    )
    target_kind: RolloutTargetKind
    target_ref: TargetRef
    target_branch: BranchName | None = Field(
        default=None,
        description="The branch of a Tag or Commit target; left out: the repo's default branch.",
    )
    stages: list[RolloutStageCreate] = Field(min_length=1, max_length=MAX_STAGES)
    offline_policy: OfflineUnitPolicy = OfflineUnitPolicy.WAIT
    rollback_on_halt: RollbackScope = RollbackScope.FAILED_UNITS
    node_bounds: list[NodeBound] = Field(default_factory=list, max_length=MAX_NODE_BOUNDS)


class RolloutRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    repo_uuid: UUID
    target_kind: RolloutTargetKind
    target_branch: str
    target_ref: str
    target_commit: str
    offline_policy: OfflineUnitPolicy
    rollback_on_halt: RollbackScope
    node_bounds: list[NodeBound]
    status: RolloutStatus
    status_reason: str | None
    current_stage: int
    stage_started_datetime: datetime | None
    create_datetime: datetime
    last_update_datetime: datetime
    creator_uuid: UUID | None

    @field_validator("node_bounds", mode="before")
    @classmethod
    def _stored_bounds(cls, value: object) -> object:
        """Stored as JSON text; none stored is an empty list."""
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else value


class RolloutStageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    size_kind: RolloutStageSize
    size_value: int
    soak_seconds: int
    confirm_deadline_seconds: int
    max_error_log_increase: int | None
    max_rejection_increase: int | None
    started_datetime: datetime | None
    passed_datetime: datetime | None


class RolloutUnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unit_uuid: UUID
    stage: int
    outcome: RolloutUnitOutcome
    outcome_reason: str | None
    previous_commit_version: str | None
    update_sent_datetime: datetime | None
    confirmed_datetime: datetime | None
    outcome_datetime: datetime | None


class RolloutEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: RolloutStatus | None
    to_status: RolloutStatus
    stage: int
    reason: str | None
    actor_uuid: UUID | None
    event_datetime: datetime


class RolloutDetail(RolloutRead):
    stages: list[RolloutStageRead]
    units: list[RolloutUnitRead]
    history: list[RolloutEventRead]


class RolloutsResult(BaseModel):
    count: int
    rollouts: list[RolloutRead]
