"""What owners ask of rollouts (docs/api.md#rollouts): create one over their units of a repo
they created, read them, and pause, resume, abort or roll back by hand. Only the creator sees
and acts on a rollout; its units must be the creator's own units of that repo."""

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.models.rollout import (
    RolloutCreate,
    RolloutDetail,
    RolloutEventRead,
    RolloutRead,
    RolloutsResult,
    RolloutStageRead,
    RolloutUnitRead,
)
from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.errors import NoAccessError, NotFoundError, RolloutError
from control_plane.services.paging import Page
from control_plane.services.repos.access import own_repo
from control_plane.services.repos.repos import branch_history
from control_plane.services.rollouts.decisions import UnitProgress, units_to_roll_back
from control_plane.services.rollouts.history import record_transition
from control_plane.services.rollouts.node_bounds import NODE_BOUNDS
from control_plane.services.rollouts.stage_plan import StageSize, assign_stages
from control_plane.services.rollouts.target import resolve_rollout_target
from control_plane.services.rollouts.transitions import RolloutCommand, status_after
from control_plane.services.rollouts.unit_moves import roll_back_unit
from control_plane.services.units.access import own_unit
from pepeunit_core.db.enums import RolloutStatus, RolloutTargetKind
from pepeunit_core.db.models import (
    Rollout,
    RolloutEvent,
    RolloutStage,
    RolloutUnit,
    Unit,
    User,
)
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

ACTIVE = (RolloutStatus.PENDING, RolloutStatus.RUNNING, RolloutStatus.PAUSED)
"""A unit is in at most one rollout with these statuses."""


def create_rollout(
    session: Session, settings: Settings, user: User, data: RolloutCreate
) -> RolloutDetail:
    repo = own_repo(session, user, data.repo_uuid)
    sizes = [StageSize(stage.size_kind, stage.size_value) for stage in data.stages]
    if data.target_kind is RolloutTargetKind.BRANCH_HEAD:
        if data.target_branch is not None:
            raise RolloutError("A BranchHead target names its branch in target_ref alone")
        branch = data.target_ref
    else:
        branch = data.target_branch or repo.default_branch or ""
    history = branch_history(settings, repo.repository_registry_uuid, branch)
    target = resolve_rollout_target(
        data.target_kind, data.target_ref, branch, history, repo.is_compilable_repo
    )
    units = _rollout_units(session, user, repo.uuid, data.unit_uuids)
    stage_of = assign_stages([unit.uuid for unit in units], sizes)
    rollout = Rollout(
        repo_uuid=repo.uuid,
        target_kind=data.target_kind,
        target_branch=branch,
        target_ref=data.target_ref,
        target_commit=target.commit,
        offline_policy=data.offline_policy,
        rollback_on_halt=data.rollback_on_halt,
        node_bounds=NODE_BOUNDS.dump_json(data.node_bounds).decode() if data.node_bounds else None,
        status=RolloutStatus.PENDING,
        creator_uuid=user.uuid,
    )
    session.add(rollout)
    session.flush()
    session.add_all(
        RolloutStage(rollout_uuid=rollout.uuid, position=position, **stage.model_dump())
        for position, stage in enumerate(data.stages)
    )
    session.add_all(
        RolloutUnit(rollout_uuid=rollout.uuid, unit_uuid=unit, stage=stage)
        for unit, stage in stage_of.items()
    )
    session.add(
        RolloutEvent(
            rollout_uuid=rollout.uuid,
            to_status=RolloutStatus.PENDING,
            stage=0,
            reason=f"created for {len(units)} units, target {target.commit}",
            actor_uuid=user.uuid,
        )
    )
    session.commit()
    return rollout_detail(session, rollout)


def _rollout_units(
    session: Session, user: User, repo: UUID, asked: list[UUID] | None
) -> list[Unit]:
    if asked is None:
        units = list(
            session.scalars(
                select(Unit)
                .where(Unit.repo_uuid == repo, Unit.creator_uuid == user.uuid)
                .order_by(Unit.create_datetime, Unit.uuid)
            )
        )
    else:
        if len(set(asked)) != len(asked):
            raise RolloutError("A unit is listed twice")
        units = [own_unit(session, user, uuid) for uuid in asked]
        for unit in units:
            if unit.repo_uuid != repo:
                raise RolloutError(f"Unit {unit.uuid} is not a unit of repo {repo}")
    if not units:
        raise RolloutError("The rollout has no units")
    busy = session.scalars(
        select(RolloutUnit.unit_uuid)
        .join(Rollout, Rollout.uuid == RolloutUnit.rollout_uuid)
        .where(
            RolloutUnit.unit_uuid.in_([unit.uuid for unit in units]),
            Rollout.status.in_(ACTIVE),
        )
    ).first()
    if busy is not None:
        raise RolloutError(f"Unit {busy} is in a rollout that has not finished")
    return units


def own_rollout(session: Session, user: User, uuid: UUID, *, lock: bool = False) -> Rollout:
    """The rollout, for its creator (NotFoundError if missing, NoAccessError for anyone
    else)."""
    rollout = session.get(Rollout, uuid, with_for_update=lock)
    if rollout is None:
        raise NotFoundError.of("Rollout", uuid)
    if rollout.creator_uuid != user.uuid:
        raise NoAccessError("Only the creator of a rollout may see or change it")
    return rollout


def rollout_detail(session: Session, rollout: Rollout) -> RolloutDetail:
    stages = session.scalars(
        select(RolloutStage)
        .where(RolloutStage.rollout_uuid == rollout.uuid)
        .order_by(RolloutStage.position)
    )
    units = session.scalars(
        select(RolloutUnit)
        .where(RolloutUnit.rollout_uuid == rollout.uuid)
        .order_by(RolloutUnit.stage, RolloutUnit.uuid)
    )
    history = session.scalars(
        select(RolloutEvent)
        .where(RolloutEvent.rollout_uuid == rollout.uuid)
        .order_by(RolloutEvent.event_datetime, RolloutEvent.uuid)
    )
    return RolloutDetail(
        **RolloutRead.model_validate(rollout).model_dump(),
        stages=[RolloutStageRead.model_validate(stage) for stage in stages],
        units=[RolloutUnitRead.model_validate(unit) for unit in units],
        history=[RolloutEventRead.model_validate(event) for event in history],
    )


def get_rollout(session: Session, user: User, uuid: UUID) -> RolloutDetail:
    return rollout_detail(session, own_rollout(session, user, uuid))


def list_rollouts(session: Session, user: User, repo: UUID | None, page: Page) -> RolloutsResult:
    """The caller's rollouts, newest first (only those of `repo` when given)."""
    where = [Rollout.creator_uuid == user.uuid]
    if repo is not None:
        where.append(Rollout.repo_uuid == repo)
    count = session.scalar(select(func.count()).select_from(Rollout).where(*where)) or 0
    rows = session.scalars(
        select(Rollout)
        .where(*where)
        .order_by(Rollout.create_datetime.desc(), Rollout.uuid)
        .offset(page.offset)
        .limit(page.limit)
    )
    return RolloutsResult(count=count, rollouts=[RolloutRead.model_validate(row) for row in rows])


def command_rollout(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    user: User,
    uuid: UUID,
    command: RolloutCommand,
) -> RolloutDetail:
    """Pause, resume, abort or roll back; rollback sends every unit the rollout updated back to
    the version it ran before."""
    rollout = own_rollout(session, user, uuid, lock=True)
    status = status_after(rollout.status, command)
    reason = f"{command.value} by {user.login}"
    record_transition(session, rollout, status, rollout.current_stage, reason, user.uuid)
    session.commit()
    if command is RolloutCommand.ROLLBACK:
        records = list(
            session.scalars(select(RolloutUnit).where(RolloutUnit.rollout_uuid == rollout.uuid))
        )
        progress = [
            UnitProgress(
                record.unit_uuid, record.stage, record.outcome, record.update_sent_datetime
            )
            for record in records
        ]
        to_roll_back = set(units_to_roll_back(progress))
        now = utc_now()
        for record in records:
            if record.unit_uuid in to_roll_back:
                roll_back_unit(session, settings, publisher, record, reason, now)
    return rollout_detail(session, rollout)
