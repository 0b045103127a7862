"""The dataflow config version: bumped in the writer's transaction, announced on PostgreSQL."""

import threading

import psycopg
from sqlalchemy import Engine, select

from pepeunit_core.db.config_version import (
    DATAFLOW_CONFIG_CHANNEL,
    bump_dataflow_config_version,
    read_dataflow_config_version,
)
from pepeunit_core.db.engine import make_session_factory
from pepeunit_core.db.models import DataflowConfigVersion

NOTIFY_TIMEOUT_S = 2.0


def test_version_starts_at_zero_and_counts_committed_bumps(session_factory):
    with session_factory() as session:
        assert read_dataflow_config_version(session) == 0

    with session_factory.begin() as session:
        assert bump_dataflow_config_version(session) == 1
        assert bump_dataflow_config_version(session) == 2
        assert read_dataflow_config_version(session) == 2

    with session_factory() as session:
        assert read_dataflow_config_version(session) == 2
        row = session.scalars(select(DataflowConfigVersion)).one()
        assert row.id == 1
        assert row.updated_at.tzinfo is not None


def test_a_rolled_back_bump_is_forgotten(session_factory):
    with session_factory() as session:
        bump_dataflow_config_version(session)
        session.rollback()
        assert read_dataflow_config_version(session) == 0


def test_concurrent_writers_each_get_their_own_version(session_factory):
    writers, bumps_per_writer = 4, 10
    versions: list[int] = []
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(bumps_per_writer):
                with session_factory.begin() as session:
                    versions.append(bump_dataflow_config_version(session))
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(versions) == list(range(1, writers * bumps_per_writer + 1))


def libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_postgres_listeners_hear_the_new_version_when_the_bump_commits(postgres_engine):
    with psycopg.connect(libpq_url(postgres_engine), autocommit=True) as listener:
        listener.execute(f"LISTEN {DATAFLOW_CONFIG_CHANNEL}")
        with make_session_factory(postgres_engine)() as session:
            bump_dataflow_config_version(session)
            assert list(listener.notifies(timeout=0.2)) == []
            session.commit()

        notification = next(listener.notifies(timeout=NOTIFY_TIMEOUT_S, stop_after=1))

    assert (notification.channel, notification.payload) == (DATAFLOW_CONFIG_CHANNEL, "1")


def test_postgres_listeners_hear_nothing_from_a_rolled_back_bump(postgres_engine):
    with psycopg.connect(libpq_url(postgres_engine), autocommit=True) as listener:
        listener.execute(f"LISTEN {DATAFLOW_CONFIG_CHANNEL}")
        with make_session_factory(postgres_engine)() as session:
            bump_dataflow_config_version(session)
            session.rollback()

        assert list(listener.notifies(timeout=0.2)) == []
