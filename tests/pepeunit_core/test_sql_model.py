"""The model's constraints hold in the database itself: cascades, uniqueness, checks, types."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from pepeunit_core.db.enums import (
    DataPipeStatus,
    PermissionEntity,
    UnitNodeType,
    VisibilityLevel,
)
from pepeunit_core.db.models import (
    Permission,
    Repo,
    RepositoryRegistry,
    Unit,
    UnitNode,
    UnitNodeEdge,
    User,
)
from tests.pepeunit_core.builders import (
    add_node,
    add_registry,
    add_repo,
    add_unit,
    add_unit_tree,
    add_user,
    grant,
)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_deleting_a_unit_deletes_its_nodes_edges_and_permissions(session_factory):
    with session_factory.begin() as session:
        user, unit = add_unit_tree(session)
        other_user, other_unit = add_unit_tree(session)
        output = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        other_input = add_node(session, other_unit, UnitNodeType.INPUT, "set/pepeunit")
        session.add(UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=other_input.uuid))
        grant(session, user, unit)
        grant(session, unit, unit)
        grant(session, unit, session.get(Repo, unit.repo_uuid))
        grant(session, unit, output)
        grant(session, unit, other_input)
        grant(session, other_unit, output)
        grant(session, other_user, other_unit)

    with session_factory.begin() as session:
        session.execute(delete(Unit).where(Unit.uuid == unit.uuid))

    with session_factory() as session:
        assert session.scalars(select(UnitNode.uuid)).all() == [other_input.uuid]
        assert count(session, UnitNodeEdge) == 0
        remaining = session.execute(
            select(Permission.agent_unit_uuid, Permission.agent_user_uuid)
        ).all()
        assert remaining == [(None, other_user.uuid)]
        assert session.get(Repo, unit.repo_uuid) is not None


def test_deleting_a_node_deletes_the_edges_on_both_ends(session_factory):
    with session_factory.begin() as session:
        _, unit = add_unit_tree(session)
        output = add_node(session, unit, UnitNodeType.OUTPUT, "out/pepeunit")
        first = add_node(session, unit, UnitNodeType.INPUT, "in1/pepeunit")
        second = add_node(session, unit, UnitNodeType.INPUT, "in2/pepeunit")
        session.add_all(
            [
                UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=first.uuid),
                UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=second.uuid),
            ]
        )

    with session_factory.begin() as session:
        session.execute(delete(UnitNode).where(UnitNode.uuid == first.uuid))
        assert session.scalars(select(UnitNodeEdge.node_input_uuid)).all() == [second.uuid]
        session.execute(delete(UnitNode).where(UnitNode.uuid == output.uuid))
        assert count(session, UnitNodeEdge) == 0


def test_deleting_a_user_keeps_shared_registries_and_removes_what_they_created(
    session_factory,
):
    with session_factory.begin() as session:
        creator = add_user(session)
        registry = add_registry(session, creator)
        repo = add_repo(session, creator, registry)
        unit = add_unit(session, creator, repo)
        add_node(session, unit, UnitNodeType.OUTPUT, "out/pepeunit")
        grant(session, creator, repo)

    with session_factory.begin() as session:
        session.execute(delete(User).where(User.uuid == creator.uuid))

    with session_factory() as session:
        kept = session.get(RepositoryRegistry, registry.uuid)
        assert kept is not None
        assert kept.creator_uuid is None
        for model in (Repo, Unit, UnitNode, Permission):
            assert count(session, model) == 0, model.__name__


def test_deleting_a_registry_deletes_its_repos_and_their_units(session_factory):
    with session_factory.begin() as session:
        _, unit = add_unit_tree(session)

    with session_factory.begin() as session:
        repo = session.get(Repo, unit.repo_uuid)
        session.execute(
            delete(RepositoryRegistry).where(
                RepositoryRegistry.uuid == repo.repository_registry_uuid
            )
        )

    with session_factory() as session:
        assert (count(session, Repo), count(session, Unit), count(session, User)) == (0, 0, 1)


def _duplicate_login(session):
    add_user(session, login="alice")
    add_user(session, login="alice")


def _duplicate_telegram_chat_id(session):
    add_user(session).telegram_chat_id = "42"
    session.flush()
    add_user(session).telegram_chat_id = "42"


def _duplicate_registry_url(session):
    user = add_user(session)
    add_registry(session, user, url="https://github.com/pepeunit/sensor.git")
    add_registry(session, user, url="https://github.com/pepeunit/sensor.git")


def _duplicate_repo_name(session):
    user = add_user(session)
    registry = add_registry(session, user)
    add_repo(session, user, registry, name="sensor")
    add_repo(session, user, add_registry(session, user), name="sensor")


def _duplicate_unit_name(session):
    user, unit = add_unit_tree(session)
    add_unit(session, user, session.get(Repo, unit.repo_uuid), name=unit.name)


def _duplicate_edge(session):
    _, unit = add_unit_tree(session)
    output = add_node(session, unit, UnitNodeType.OUTPUT, "out/pepeunit")
    target = add_node(session, unit, UnitNodeType.INPUT, "in/pepeunit")
    for _ in range(2):
        session.add(UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=target.uuid))
        session.flush()


@pytest.mark.parametrize(
    "make_duplicate",
    [
        _duplicate_login,
        _duplicate_telegram_chat_id,
        _duplicate_registry_url,
        _duplicate_repo_name,
        _duplicate_unit_name,
        _duplicate_edge,
    ],
)
def test_unique_fields_refuse_duplicates(session_factory, make_duplicate):
    with session_factory() as session, pytest.raises(IntegrityError):
        make_duplicate(session)
        session.flush()


def test_users_without_telegram_may_coexist(session_factory):
    with session_factory.begin() as session:
        add_user(session)
        add_user(session)
        assert count(session, User) == 2


@pytest.mark.parametrize(
    ("agent_type", "resource_type"),
    [
        (PermissionEntity.UNIT, PermissionEntity.UNIT_NODE),  # agent column of a User
        (PermissionEntity.USER, PermissionEntity.REPO),  # resource column of a UnitNode
    ],
)
def test_a_permission_row_must_match_its_types(session_factory, agent_type, resource_type):
    with session_factory() as session:
        user, unit = add_unit_tree(session)
        node = add_node(session, unit, UnitNodeType.INPUT, "in/pepeunit")
        session.add(
            Permission(
                agent_type=agent_type,
                agent_user_uuid=user.uuid,
                resource_type=resource_type,
                resource_unit_node_uuid=node.uuid,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_max_connections_must_be_positive(session_factory):
    with session_factory() as session:
        _, unit = add_unit_tree(session)
        node = add_node(session, unit, UnitNodeType.INPUT, "in/pepeunit")
        node.max_connections = 0
        with pytest.raises(IntegrityError):
            session.flush()


def test_rows_written_with_plain_sql_get_the_reference_defaults(session_factory):
    with session_factory.begin() as session:
        _, unit = add_unit_tree(session)
        node_uuid = add_node(session, unit, UnitNodeType.OUTPUT, "seed/pepeunit").uuid
        now = datetime.now(UTC)
        session.execute(
            insert(UnitNode.__table__).values(
                uuid=UnitNode.uuid.type.python_type(int=node_uuid.int + 1),
                type="Input",
                topic_name="raw/pepeunit",
                create_datetime=now,
                last_update_datetime=now,
                unit_uuid=unit.uuid,
            )
        )

    with session_factory() as session:
        row = session.execute(
            text(
                "SELECT type, visibility_level, is_rewritable_input, max_connections,"
                " is_data_pipe_active, data_pipe_status FROM units_nodes"
                " WHERE topic_name = 'raw/pepeunit'"
            )
        ).one()
        assert tuple(row) == ("Input", "Public", False, 10, False, "Inactive")
        node = session.scalars(select(UnitNode).where(UnitNode.topic_name == "raw/pepeunit")).one()
        assert node.type is UnitNodeType.INPUT
        assert node.visibility_level is VisibilityLevel.PUBLIC
        assert node.data_pipe_status is DataPipeStatus.INACTIVE


def test_datetimes_come_back_as_the_same_instant_in_utc(session_factory):
    moscow = timezone(timedelta(hours=3))
    written = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=moscow)
    with session_factory.begin() as session:
        _, unit = add_unit_tree(session)
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        node.last_update_datetime = written

    with session_factory() as session:
        read = session.get(UnitNode, node.uuid).last_update_datetime
        assert read == written
        assert read.tzinfo is UTC
        assert read.hour == 9


def test_naive_datetimes_are_refused(session_factory):
    with session_factory() as session:
        _, unit = add_unit_tree(session)
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        node.last_update_datetime = datetime(2025, 6, 1, 12, 30)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
