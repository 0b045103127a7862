"""Rollouts against real services (SQLite and PostgreSQL, a private Mosquitto with a
subscriber standing in for each device, ClickHouse for the error logs): a good version goes
canary -> 50 % -> all, a bad one halts at the canary and rolls only the canary back (and the
rollout metrics count it), a manual
rollback sends every updated unit back; over HTTP, what cannot run is refused with the
reason and the manual commands keep the history. Time is passed in, so nothing waits for a soak; the
units' state reports are stored the way the dataflow stores them."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from control_plane.models.rollout import RolloutCreate, RolloutStageCreate
from control_plane.services.errors import RolloutError
from control_plane.services.rollouts.decisions import Action
from control_plane.services.rollouts.driver import step_rollout
from control_plane.services.rollouts.error_logs import clickhouse_error_log_counter
from control_plane.services.rollouts.metrics import write_rollout_metrics
from control_plane.services.rollouts.rollouts import command_rollout, create_rollout
from control_plane.services.rollouts.transitions import RolloutCommand
from flows.storage.unit_state_writer import apply_state_report
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.enums import (
    DeliveryStatus,
    RolloutStageSize,
    RolloutStatus,
    RolloutTargetKind,
    RolloutUnitOutcome,
)
from pepeunit_core.db.models import Rollout, RolloutEvent, RolloutUnit, Unit, UnitNode, User
from pepeunit_core.pipe_rejections import RejectedMessage, RejectionLog
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import UnitStateRow
from pepeunit_core.topics import CommandTopicName, command_topic
from tests.control_plane_registry.git_sources import SourceRepository
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.mosquitto import MosquittoServer

from .conftest import API, Actors, make_settings
from .test_unit_commands_api import DOMAIN, Device

UNIT_COUNT = 4
SOAK = timedelta(seconds=60)
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> SourceRepository:
    repository = SourceRepository(tmp_path_factory.mktemp("rollout-source"), "rolled")
    schema = {
        "input_base_topic": ["update/pepeunit"],
        "output_base_topic": ["state/pepeunit", "log/pepeunit"],
        "input_topic": [],
        "output_topic": ["temp/pepeunit"],
    }
    files = {"schema_example.json": json.dumps(schema).encode()}
    first = repository.commit("v1", files | {"main.py": b"print(1)\n"})
    repository.tag("v1.0.0", first)
    second = repository.commit("v2", files | {"main.py": b"print(2)\n"})
    repository.tag("v2.0.0", second)
    repository.publish()
    return repository


@pytest.fixture
def settings(
    database_url: str, tmp_path, clickhouse_database: ClickHouseDatabase, mosquitto_server
) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        clickhouse_database_url=clickhouse_database.dsn,
        mqtt_port=mosquitto_server.port,
    )


class Fleet:
    """A repo on v1 (manual repo commit, auto-updating units) and its units' stand-ins."""

    def __init__(
        self, client: TestClient, actors: Actors, source: SourceRepository, port: int
    ) -> None:
        alice = actors.headers["alice"]
        body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
        registry = client.post(f"{API}/repository_registry", json=body, headers=alice).json()
        name = f"rolled-{uuid4().hex[:8]}"
        repo = client.post(
            f"{API}/repos",
            json={"repository_registry_uuid": registry["uuid"], "default_branch": "main",
                  "name": name},
            headers=alice,
        ).json()  # fmt: skip
        self.repo = UUID(repo["uuid"])
        branch = client.get(
            f"{API}/repository_registry/branch_commits/{registry['uuid']}?repo_branch=main",
            headers=alice,
        ).json()
        self.commits = {tag: commit["commit"] for commit in branch for tag in [commit["tag"]]}
        response = client.patch(
            f"{API}/repos/{self.repo}",
            json={"is_auto_update_repo": False, "default_commit": self.commits["v1.0.0"]},
            headers=alice,
        )
        assert response.status_code == 200, response.text
        self.units = []
        for index in range(UNIT_COUNT):
            response = client.post(
                f"{API}/units",
                json={"repo_uuid": str(self.repo), "name": f"{name}-{index}",
                      "is_auto_update_from_repo_unit": True},
                headers=alice,
            )  # fmt: skip
            assert response.status_code == 201, response.text
            self.units.append(UUID(response.json()["uuid"]))
        self.devices = {
            unit: Device(port, [command_topic(DOMAIN, unit, CommandTopicName.UPDATE)])
            for unit in self.units
        }

    def close(self) -> None:
        for device in self.devices.values():
            device.close()

    def updates_received(self, unit: UUID) -> list[str]:
        topic = command_topic(DOMAIN, unit, CommandTopicName.UPDATE)
        messages = []
        while True:
            try:
                payload = self.devices[unit].wait_for(topic, timeout_s=0.3)
            except AssertionError:
                return messages
            messages.append(json.loads(payload)["PU_COMMIT_VERSION"])


def report(session_factory: sessionmaker[Session], unit: UUID, commit: str, at: datetime) -> None:
    """A state report stored as the dataflow stores it."""
    with session_factory() as session:
        row = session.get_one(Unit, unit)
        state = UnitStateRow(str(unit), "{}", commit, at)
        apply_state_report(row, state, update_timeout=timedelta(minutes=10))
        session.commit()


@pytest.fixture
def fleet(
    client: TestClient, actors: Actors, source: SourceRepository, mosquitto_server: MosquittoServer
) -> Iterator[Fleet]:
    built = Fleet(client, actors, source, mosquitto_server.port)
    try:
        yield built
    finally:
        built.close()


def stages(error_gate: int | None = None) -> list[RolloutStageCreate]:
    return [
        RolloutStageCreate(
            size_kind=kind, size_value=value, soak_seconds=int(SOAK.total_seconds()),
            confirm_deadline_seconds=120, max_error_log_increase=error_gate,
        )
        for kind, value in (
            (RolloutStageSize.UNITS, 1),
            (RolloutStageSize.PERCENT, 50),
            (RolloutStageSize.PERCENT, 100),
        )
    ]  # fmt: skip


def alice(session: Session, actors: Actors) -> User:
    return session.get_one(User, actors.alice_uuid)


def outcomes(session_factory: sessionmaker[Session], rollout: UUID) -> dict[UUID, str]:
    with session_factory() as session:
        rows = session.query(RolloutUnit).filter_by(rollout_uuid=rollout).all()
        return {row.unit_uuid: row.outcome for row in rows}


def test_a_good_version_passes_every_stage_and_resumes_after_a_restart(
    app: FastAPI, settings: Settings, actors: Actors, fleet: Fleet
):
    context = app.state.context
    factory = context.session_factory
    v1, v2 = fleet.commits["v1.0.0"], fleet.commits["v2.0.0"]
    for unit in fleet.units:
        report(factory, unit, v1, T0 - timedelta(seconds=10))
    with factory() as session:
        created = create_rollout(
            session, settings, alice(session, actors),
            RolloutCreate(repo_uuid=fleet.repo, target_kind=RolloutTargetKind.TAG,
                          target_ref="v2.0.0", stages=stages()),
        )  # fmt: skip
    assert created.target_commit == v2
    assert [unit.stage for unit in created.units] == [0, 1, 2, 2]
    staged = {unit.unit_uuid: unit.stage for unit in created.units}
    counter = clickhouse_error_log_counter(settings)

    factories = [factory]

    def step(now: datetime) -> list[Action]:
        with factories[-1]() as session:
            decisions = step_rollout(
                session, settings, context.publisher, created.uuid, counter, now
            )
            return [decision.action for decision in decisions]

    now = T0
    for stage in range(3):
        starting = [Action.START] if stage == 0 else [Action.ADVANCE]
        assert step(now) == [*starting, Action.SEND]
        for unit in fleet.units:
            received = fleet.updates_received(unit)
            assert received == ([v2] if staged[unit] == stage else []), (stage, unit)
        assert step(now + timedelta(seconds=1)) == [Action.WAIT]
        now += timedelta(seconds=5)
        for unit in fleet.units:
            report(factory, unit, v2 if staged[unit] <= stage else v1, now)
        assert step(now) == [Action.WAIT]  # confirmed, soaking
        if stage == 1:
            # A restart: a new engine and sessions, nothing kept in memory.
            engine = make_engine(settings.sqlalchemy_database_url)
            factories.append(sessionmaker(engine, expire_on_commit=False))
        now += SOAK
        for unit in fleet.units:
            report(factory, unit, v2 if staged[unit] <= stage else v1, now)
    assert step(now) == [Action.COMPLETE]
    with factory() as session:
        rollout = session.get_one(Rollout, created.uuid)
        assert rollout.status is RolloutStatus.COMPLETED
        units = [session.get_one(Unit, unit) for unit in fleet.units]
        assert {unit.current_commit_version for unit in units} == {v2}
        assert {unit.is_auto_update_from_repo_unit for unit in units} == {False}
    assert set(outcomes(factory, created.uuid).values()) == {RolloutUnitOutcome.HEALTHY}
    with factory() as session:
        told = session.scalars(
            select(RolloutEvent.reason)
            .where(RolloutEvent.delivery_status == DeliveryStatus.PENDING)
            .order_by(RolloutEvent.event_datetime)
        ).all()
    assert told == ["stage 0 passed", "stage 1 passed", "every stage passed"]
    for unit in fleet.units:
        assert fleet.updates_received(unit) == []
    assert step(now + SOAK) == []


def test_a_bad_version_halts_at_the_canary_and_rolls_only_the_canary_back(
    tmp_path: Path,
    app: FastAPI,
    settings: Settings,
    actors: Actors,
    fleet: Fleet,
    clickhouse_database: ClickHouseDatabase,
):
    context = app.state.context
    factory = context.session_factory
    v1, v2 = fleet.commits["v1.0.0"], fleet.commits["v2.0.0"]
    for unit in fleet.units:
        report(factory, unit, v1, T0 - timedelta(seconds=10))
    with factory() as session:
        created = create_rollout(
            session, settings, alice(session, actors),
            RolloutCreate(repo_uuid=fleet.repo, target_kind=RolloutTargetKind.COMMIT,
                          target_ref=v2, stages=stages(error_gate=2)),
        )  # fmt: skip
    canary = created.units[0].unit_uuid
    counter = clickhouse_error_log_counter(settings)

    def step(now: datetime) -> list[Action]:
        with factory() as session:
            decisions = step_rollout(
                session, settings, context.publisher, created.uuid, counter, now
            )
            return [decision.action for decision in decisions]

    assert step(T0) == [Action.START, Action.SEND]
    assert fleet.updates_received(canary) == [v2]
    report(factory, canary, v2, T0 + timedelta(seconds=5))
    assert step(T0 + timedelta(seconds=6)) == [Action.WAIT]
    errors_at = T0 + timedelta(seconds=20)
    columns = ["uuid", "level", "unit_uuid", "text", "create_datetime", "expiration_datetime"]
    epoch_ms = int(errors_at.timestamp() * 1000)
    expires = int(time.time()) + 3600
    clickhouse_database.client.insert(
        "unit_logs",
        [[uuid4(), "Error", canary, "crash", epoch_ms + i, expires] for i in range(3)],
        column_names=columns,
    )
    report(factory, canary, v2, T0 + timedelta(seconds=25))

    assert step(T0 + timedelta(seconds=30)) == [Action.HALT]

    assert fleet.updates_received(canary) == [v1]
    for unit in fleet.units[1:]:
        assert fleet.updates_received(unit) == []
    with factory() as session:
        rollout = session.get_one(Rollout, created.uuid)
        assert (rollout.status, rollout.current_stage) == (RolloutStatus.HALTED, 0)
        assert "3 error logs after the update against 0 before" in (rollout.status_reason or "")
        assert session.get_one(Unit, canary).is_auto_update_from_repo_unit is True
    states = outcomes(factory, created.uuid)
    assert states[canary] is RolloutUnitOutcome.ROLLED_BACK
    assert {states[unit] for unit in fleet.units[1:]} == {RolloutUnitOutcome.PENDING}
    assert step(T0 + timedelta(minutes=5)) == []
    with factory() as session:
        path = write_rollout_metrics(session, tmp_path / "metrics", T0 + timedelta(minutes=5))
    assert path.name == "pepeunit_rollouts.prom"
    assert prometheus_samples(path.read_text()) >= {
        ("pepeunit_rollouts", (("status", "Halted"),), 1.0),
        ("pepeunit_rollouts", (("status", "Running"),), 0.0),
        ("pepeunit_rollout_units", (("outcome", "RolledBack"),), 1.0),
        ("pepeunit_rollout_units", (("outcome", "Pending"),), UNIT_COUNT - 1.0),
        ("pepeunit_rollout_units", (("outcome", "Failed"),), 0.0),
        ("pepeunit_rollout_updates_sent_total", (), 1.0),
        ("pepeunit_rollout_stages_passed_total", (), 0.0),
        ("pepeunit_rollout_transitions_total", (("to_status", "Running"),), 1.0),
        ("pepeunit_rollout_transitions_total", (("to_status", "Halted"),), 1.0),
        ("pepeunit_rollout_metrics_timestamp_seconds", (), (T0 + timedelta(minutes=5)).timestamp()),
    }


def prometheus_samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_manual_rollback_sends_every_updated_unit_back_and_a_busy_unit_is_refused(
    app: FastAPI, settings: Settings, actors: Actors, fleet: Fleet
):
    context = app.state.context
    factory = context.session_factory
    v1, v2 = fleet.commits["v1.0.0"], fleet.commits["v2.0.0"]
    for unit in fleet.units:
        report(factory, unit, v1, T0 - timedelta(seconds=10))
    request = RolloutCreate(
        repo_uuid=fleet.repo, target_kind=RolloutTargetKind.BRANCH_HEAD, target_ref="main",
        stages=[stages()[-1]],
    )  # fmt: skip
    with factory() as session:
        created = create_rollout(session, settings, alice(session, actors), request)
    with factory() as session, pytest.raises(RolloutError, match="in a rollout that has not"):
        create_rollout(session, settings, alice(session, actors), request)
    counter = clickhouse_error_log_counter(settings)
    with factory() as session:
        step_rollout(session, settings, context.publisher, created.uuid, counter, T0)
    for unit in fleet.units:
        assert fleet.updates_received(unit) == [v2]
    with factory() as session:
        detail = command_rollout(
            session, settings, context.publisher, alice(session, actors), created.uuid,
            RolloutCommand.ROLLBACK,
        )  # fmt: skip
    assert detail.status is RolloutStatus.ROLLED_BACK
    assert [event.to_status for event in detail.history] == [
        RolloutStatus.PENDING, RolloutStatus.RUNNING, RolloutStatus.ROLLED_BACK,
    ]  # fmt: skip
    assert detail.history[-1].actor_uuid == actors.alice_uuid
    for unit in fleet.units:
        assert fleet.updates_received(unit) == [v1]
    with factory() as session, pytest.raises(RolloutError, match="RolledBack cannot pause"):
        command_rollout(
            session, settings, context.publisher, alice(session, actors), created.uuid,
            RolloutCommand.PAUSE,
        )  # fmt: skip


# --- over HTTP ------------------------------------------------------------------------------

ROLLOUTS = f"{API}/rollouts"


def rollout_body(fleet: Fleet, **fields: object) -> dict:
    last = {"size_kind": "Percent", "size_value": 100, "soak_seconds": 0,
            "confirm_deadline_seconds": 60}  # fmt: skip
    body = {"repo_uuid": str(fleet.repo), "target_kind": "Tag", "target_ref": "v2.0.0",
            "stages": [last]}  # fmt: skip
    return body | fields


REFUSED = [
    ({"target_ref": "v9.9.9"}, "Tag v9.9.9 is not on branch main"),
    ({"target_kind": "Commit", "target_ref": "0" * 40}, f"Commit {'0' * 40} is not on branch"),
    ({"target_kind": "BranchHead", "target_ref": "nope"}, "nope"),
    (
        {"target_kind": "BranchHead", "target_ref": "main", "target_branch": "main"},
        "A BranchHead target names its branch in target_ref alone",
    ),
    (
        {"stages": [{"size_kind": "Units", "size_value": 1, "soak_seconds": 0,
                     "confirm_deadline_seconds": 1}]},
        "The last stage must reach 100 % of the units",
    ),
    ({"unit_uuids": []}, "The rollout has no units"),
    ({"unit_uuids": ["{unit}", "{unit}"]}, "A unit is listed twice"),
    ({"unit_uuids": ["{foreign}"]}, "is not a unit of repo"),
]  # fmt: skip


def test_a_rollout_that_cannot_run_is_refused_with_the_reason(
    client: TestClient, actors: Actors, fleet: Fleet
):
    names = {"{unit}": str(fleet.units[0]), "{foreign}": str(actors.unit_uuid)}
    for fields, detail in REFUSED:
        if "unit_uuids" in fields:
            fields = {"unit_uuids": [names[name] for name in fields["unit_uuids"]]}
        response = client.post(
            ROLLOUTS, json=rollout_body(fleet, **fields), headers=actors.headers["alice"]
        )
        assert response.status_code == 422, (fields, response.text)
        assert detail in response.json()["detail"], fields
    listed = client.get(ROLLOUTS, headers=actors.headers["alice"]).json()
    assert listed["count"] == 0


def test_a_rollout_over_http_pauses_resumes_and_keeps_its_history(
    client: TestClient, actors: Actors, fleet: Fleet
):
    alice, bob = actors.headers["alice"], actors.headers["bob"]
    chosen = [str(unit) for unit in fleet.units[:2]]
    response = client.post(ROLLOUTS, json=rollout_body(fleet, unit_uuids=chosen), headers=alice)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "Pending"
    assert created["target_commit"] == fleet.commits["v2.0.0"]
    assert {unit["unit_uuid"] for unit in created["units"]} == set(chosen)
    uuid = created["uuid"]
    for command, status in (("pause", "Paused"), ("resume", "Running"), ("abort", "Aborted")):
        response = client.post(f"{ROLLOUTS}/{uuid}/{command}", headers=alice)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    response = client.post(f"{ROLLOUTS}/{uuid}/resume", headers=alice)
    assert response.status_code == 422
    assert "A rollout that is Aborted cannot resume" in response.json()["detail"]
    assert client.post(f"{ROLLOUTS}/{uuid}/reboot", headers=alice).status_code == 422
    detail = client.get(f"{ROLLOUTS}/{uuid}", headers=alice).json()
    assert [(event["from_status"], event["to_status"]) for event in detail["history"]] == [
        (None, "Pending"), ("Pending", "Paused"), ("Paused", "Running"), ("Running", "Aborted"),
    ]  # fmt: skip
    assert {event["actor_uuid"] for event in detail["history"]} == {str(actors.alice_uuid)}
    assert client.get(f"{ROLLOUTS}/{uuid}", headers=bob).status_code == 403
    assert client.get(f"{ROLLOUTS}/{uuid4()}", headers=alice).status_code == 404
    assert client.get(ROLLOUTS, headers=bob).json() == {"count": 0, "rollouts": []}
    mine = client.get(ROLLOUTS, params={"repo_uuid": str(fleet.repo)}, headers=alice).json()
    assert [rollout["uuid"] for rollout in mine["rollouts"]] == [uuid]
    # An aborted rollout frees its units for the next one.
    response = client.post(ROLLOUTS, json=rollout_body(fleet), headers=alice)
    assert response.status_code == 201, response.text
    assert len(response.json()["units"]) == UNIT_COUNT


def test_a_node_value_out_of_bounds_halts_the_canary(
    app: FastAPI, settings: Settings, actors: Actors, fleet: Fleet
):
    context = app.state.context
    factory = context.session_factory
    v1, v2 = fleet.commits["v1.0.0"], fleet.commits["v2.0.0"]
    for unit in fleet.units:
        report(factory, unit, v1, T0 - timedelta(seconds=10))
    bound = {"topic_name": "temp/pepeunit",
             "rule": {"name": "too hot", "type": "above", "threshold": 80}}  # fmt: skip
    request = RolloutCreate.model_validate(
        {"repo_uuid": str(fleet.repo), "target_kind": "Tag", "target_ref": "v2.0.0",
         "stages": [stage.model_dump() for stage in stages()], "node_bounds": [bound]}
    )  # fmt: skip
    with factory() as session:
        created = create_rollout(session, settings, alice(session, actors), request)
    assert created.node_bounds == request.node_bounds
    canary = created.units[0].unit_uuid
    counter = clickhouse_error_log_counter(settings)

    def step(now: datetime) -> list[Action]:
        with factory() as session:
            decisions = step_rollout(
                session, settings, context.publisher, created.uuid, counter, now
            )
            return [decision.action for decision in decisions]

    def node_value(value: str, at: datetime) -> None:
        """As the dataflow stores an accepted value."""
        with factory() as session:
            node = session.scalars(
                select(UnitNode).where(
                    UnitNode.unit_uuid == canary, UnitNode.topic_name == "temp/pepeunit"
                )
            ).one()
            node.state, node.last_update_datetime = value, at
            session.commit()

    node_value("95", T0 - timedelta(seconds=5))  # the old version's value is not judged
    assert step(T0) == [Action.START, Action.SEND]
    report(factory, canary, v2, T0 + timedelta(seconds=5))
    assert step(T0 + timedelta(seconds=6)) == [Action.WAIT]
    node_value("70", T0 + timedelta(seconds=10))
    report(factory, canary, v2, T0 + timedelta(seconds=10))
    assert step(T0 + timedelta(seconds=12)) == [Action.WAIT]
    node_value("91", T0 + timedelta(seconds=20))
    assert step(T0 + timedelta(seconds=22)) == [Action.HALT]
    assert fleet.updates_received(canary) == [v2, v1]
    with factory() as session:
        rollout = session.get_one(Rollout, created.uuid)
        assert rollout.status is RolloutStatus.HALTED
        assert rollout.status_reason == f"unit {canary}: temp/pepeunit is 91: too hot"


def test_pipeline_rejections_are_judged_against_as_long_a_time_before_the_update(
    app: FastAPI, settings: Settings, actors: Actors, fleet: Fleet
):
    """Before: the rejections the node's record keeps from as long before the Update as has
    passed since it; after: the node's counter since the Update."""
    context = app.state.context
    factory = context.session_factory
    v1, v2 = fleet.commits["v1.0.0"], fleet.commits["v2.0.0"]
    for unit in fleet.units:
        report(factory, unit, v1, T0 - timedelta(seconds=10))
    request = RolloutCreate(
        repo_uuid=fleet.repo, target_kind=RolloutTargetKind.TAG, target_ref="v2.0.0",
        stages=[stage.model_copy(update={"max_rejection_increase": 1}) for stage in stages()],
    )  # fmt: skip
    with factory() as session:
        created = create_rollout(session, settings, alice(session, actors), request)
    canary = created.units[0].unit_uuid
    counter = clickhouse_error_log_counter(settings)
    log = RejectionLog()

    def rejected(*moments: datetime) -> None:
        """As the dataflow stores a node's rejections."""
        for moment in moments:
            log.record(RejectedMessage(moment, "Filters", "not_a_number", "'x': not a number"))
        with factory() as session:
            node = session.scalars(
                select(UnitNode).where(
                    UnitNode.unit_uuid == canary, UnitNode.topic_name == "temp/pepeunit"
                )
            ).one()
            node.data_pipe_rejected_count, node.data_pipe_rejections = (
                log.rejected_count, log.to_stored(),
            )  # fmt: skip
            session.commit()

    def step(now: datetime) -> list[Action]:
        with factory() as session:
            decisions = step_rollout(
                session, settings, context.publisher, created.uuid, counter, now
            )
            return [decision.action for decision in decisions]

    # Long before the update (outside any window judged here), then 3 in the last 30 s.
    rejected(T0 - timedelta(hours=1), *(T0 - timedelta(seconds=s) for s in (25, 20, 15)))
    assert step(T0) == [Action.START, Action.SEND]
    report(factory, canary, v2, T0 + timedelta(seconds=5))
    assert step(T0 + timedelta(seconds=6)) == [Action.WAIT]
    rejected(*(T0 + timedelta(seconds=s) for s in (10, 12, 14, 16)))
    report(factory, canary, v2, T0 + timedelta(seconds=20))
    assert step(T0 + timedelta(seconds=30)) == [Action.WAIT], "4 after against 3 before"
    rejected(T0 + timedelta(seconds=31))
    assert step(T0 + timedelta(seconds=32)) == [Action.HALT]
    with factory() as session:
        rollout = session.get_one(Rollout, created.uuid)
        assert rollout.status_reason == (
            f"unit {canary}: 5 pipeline rejections after the update against 3 before "
            "(at most 1 more)"
        )
