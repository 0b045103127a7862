"""Rollout rows follow what they describe: a unit or repo deleted takes its rollout rows with it,
a user deleted leaves the history of what they did."""

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from pepeunit_core.db.enums import (
    RolloutStageSize,
    RolloutStatus,
    RolloutUnitOutcome,
)
from pepeunit_core.db.models import (
    Repo,
    Rollout,
    RolloutEvent,
    RolloutStage,
    RolloutUnit,
    Unit,
    User,
)
from tests.pepeunit_core.builders import add_rollout, add_unit, add_unit_tree, add_user


def test_a_new_rollout_is_pending_with_its_units_pending(session_factory):
    with session_factory.begin() as session:
        user, unit = add_unit_tree(session)
        rollout = add_rollout(session, user, unit)
    with session_factory() as session:
        assert session.get_one(Rollout, rollout.uuid).status is RolloutStatus.PENDING
        assert session.get_one(Rollout, rollout.uuid).current_stage == 0
        outcomes = session.scalars(select(RolloutUnit.outcome)).all()
        assert outcomes == [RolloutUnitOutcome.PENDING]


def test_deleting_a_unit_removes_it_from_rollouts_and_deleting_the_repo_removes_them(
    session_factory,
):
    with session_factory.begin() as session:
        user, unit = add_unit_tree(session)
        other = add_unit(session, user, session.get_one(Repo, unit.repo_uuid))
        rollout = add_rollout(session, user, unit)
        session.add(RolloutUnit(rollout_uuid=rollout.uuid, unit_uuid=other.uuid, stage=0))

    with session_factory.begin() as session:
        session.execute(delete(Unit).where(Unit.uuid == unit.uuid))
    with session_factory() as session:
        assert session.scalars(select(RolloutUnit.unit_uuid)).all() == [other.uuid]

    with session_factory.begin() as session:
        session.execute(delete(Repo).where(Repo.uuid == other.repo_uuid))
    with session_factory() as session:
        for model in (Rollout, RolloutStage, RolloutUnit, RolloutEvent):
            assert session.scalars(select(model)).all() == []


def test_the_history_outlives_the_user_who_acted(session_factory):
    with session_factory.begin() as session:
        owner, unit = add_unit_tree(session)
        actor = add_user(session)
        rollout = add_rollout(session, owner, unit)
        session.add(
            RolloutEvent(
                rollout_uuid=rollout.uuid,
                from_status=RolloutStatus.RUNNING,
                to_status=RolloutStatus.PAUSED,
                stage=0,
                actor_uuid=actor.uuid,
            )
        )

    with session_factory.begin() as session:
        session.execute(delete(User).where(User.uuid == actor.uuid))
    with session_factory() as session:
        event = session.scalars(select(RolloutEvent)).one()
        assert (event.to_status, event.actor_uuid) == (RolloutStatus.PAUSED, None)


def test_a_unit_is_in_a_rollout_once_and_a_stage_position_is_taken_once(session_factory):
    with session_factory.begin() as session:
        user, unit = add_unit_tree(session)
        rollout = add_rollout(session, user, unit)
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(RolloutUnit(rollout_uuid=rollout.uuid, unit_uuid=unit.uuid, stage=1))
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            RolloutStage(
                rollout_uuid=rollout.uuid,
                position=0,
                size_kind=RolloutStageSize.UNITS,
                size_value=1,
                soak_seconds=0,
                confirm_deadline_seconds=1,
            )
        )
