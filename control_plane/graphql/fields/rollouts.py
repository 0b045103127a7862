"""Rollouts (REST `/rollouts`, beyond 1.x): create, read, list and command them (users; a
rollout is its creator's alone), as docs/api.md#rollouts describes."""

from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import (
    OfflineUnitPolicy,
    RollbackScope,
    RolloutCommand,
    RolloutStageSize,
    RolloutTargetKind,
    ThresholdType,
)
from control_plane.graphql.validation import validated
from control_plane.models.rollout import (
    NodeBound,
    RolloutCreate,
    RolloutDetail,
    RolloutEventRead,
    RolloutRead,
    RolloutStageRead,
    RolloutUnitRead,
)
from control_plane.security import Agent
from control_plane.services.rollouts import rollouts
from control_plane.services.users.agents import require_user
from pipelines.alert_rules import ThresholdRule


@strawberry.experimental.pydantic.type(
    model=ThresholdRule, all_fields=True, name="ThresholdRuleType"
)
class ThresholdRuleType:
    type: ThresholdType


@strawberry.experimental.pydantic.type(model=NodeBound, all_fields=True, name="NodeBoundType")
class NodeBoundType:
    pass


@strawberry.experimental.pydantic.type(
    model=RolloutStageRead, all_fields=True, name="RolloutStageType"
)
class RolloutStageType:
    pass


@strawberry.experimental.pydantic.type(
    model=RolloutUnitRead, all_fields=True, name="RolloutUnitType"
)
class RolloutUnitType:
    pass


@strawberry.experimental.pydantic.type(
    model=RolloutEventRead, all_fields=True, name="RolloutEventType"
)
class RolloutEventType:
    pass


@strawberry.experimental.pydantic.type(model=RolloutDetail, all_fields=True, name="RolloutType")
class RolloutType:
    # Null in `getRollouts`, whose REST twin lists rollouts without them.
    stages: list[RolloutStageType] | None
    units: list[RolloutUnitType] | None
    history: list[RolloutEventType] | None


@strawberry.type
class RolloutsResultType:
    count: int
    rollouts: list[RolloutType]


@strawberry.input
class RolloutStageCreateInput:
    size_kind: RolloutStageSize
    size_value: int
    soak_seconds: int
    confirm_deadline_seconds: int
    max_error_log_increase: int | None = None
    max_rejection_increase: int | None = None


@strawberry.input
class ThresholdRuleInput:
    type: ThresholdType
    threshold: float
    name: str | None = None
    clear: float | None = None
    cooldown: int | None = None


@strawberry.input
class NodeBoundInput:
    topic_name: str
    rule: ThresholdRuleInput


@strawberry.input
class RolloutCreateInput:
    repo_uuid: UUID
    target_kind: RolloutTargetKind
    target_ref: str
    stages: list[RolloutStageCreateInput]
    unit_uuids: list[UUID] | None = None
    target_branch: str | None = None
    offline_policy: OfflineUnitPolicy | None = None
    rollback_on_halt: RollbackScope | None = None
    node_bounds: list[NodeBoundInput] | None = None


@strawberry.input
class RolloutFilterInput(PaginationInput):
    repo_uuid: UUID | None = None


def rollout_type(read: RolloutRead) -> RolloutType:
    """A rollout, with its stages, units and history when `read` has them (a
    `RolloutDetail`); a listed `RolloutRead` leaves them null."""
    return RolloutType.from_pydantic(read)  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    async def get_rollout(self, info: GraphQLInfo, uuid: UUID) -> RolloutType:
        """The rollout with its stages, units and history (its creator only)."""

        def work(session: Session, agent: Agent) -> RolloutType:
            return rollout_type(rollouts.get_rollout(session, require_user(agent), uuid))

        return await info.context.call(work)

    @strawberry.field
    async def get_rollouts(
        self, info: GraphQLInfo, filters: RolloutFilterInput
    ) -> RolloutsResultType:
        """The caller's rollouts, newest first (of `repoUuid` only when given)."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RolloutsResultType:
            user = require_user(agent)
            page = filters.page(settings)
            found = rollouts.list_rollouts(session, user, filters.repo_uuid, page)
            return RolloutsResultType(
                count=found.count, rollouts=[rollout_type(read) for read in found.rollouts]
            )

        return await info.context.call(work)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_rollout(self, info: GraphQLInfo, rollout: RolloutCreateInput) -> RolloutType:
        """A Pending rollout over the caller's units of a repo they created."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> RolloutType:
            user = require_user(agent)
            data = validated(RolloutCreate, "rollout", rollout)
            return rollout_type(rollouts.create_rollout(session, settings, user, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def command_rollout(
        self, info: GraphQLInfo, uuid: UUID, command: RolloutCommand
    ) -> RolloutType:
        """`PAUSE`, `RESUME`, `ABORT` or `ROLLBACK` (every unit the rollout updated goes back
        to the version it ran before)."""
        app = info.context.app

        def work(session: Session, agent: Agent) -> RolloutType:
            user = require_user(agent)
            detail = rollouts.command_rollout(
                session, app.settings, app.publisher, user, uuid, command
            )
            return rollout_type(detail)

        return await info.context.call(work)
