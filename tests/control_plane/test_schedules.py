"""Schedules (docs/operations.md#schedules) on SQLite and PostgreSQL: of several schedulers on one
database (in this process, in another process, in several apps) exactly one runs the jobs, and
another takes over when it stops, dies or loses its connection; a failing job does not stop the
timetable; and the real jobs work: missing clones are cloned at election, every registry is
synced periodically (a new commit in the remote arrives), and auto-updating units get an Update
on a real Mosquitto, from the first runner and from its successor."""

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from control_plane.app import create_app
from control_plane.schedules import (
    FileLock,
    Job,
    LeaderLock,
    PeriodicJob,
    Scheduler,
    make_leader_lock,
)
from control_plane.schedules.jobs import sync_registries
from control_plane.schedules.leader_lock import ADVISORY_LOCK_NAMESPACE, SCHEDULES_LOCK_ID
from control_plane.services.registry import registry_clone_path
from control_plane.services.registry.git_repository import is_clone
from flows.storage.unit_state_writer import apply_state_report
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.enums import (
    FirmwareUpdateStatus,
    RolloutStatus,
    RolloutUnitOutcome,
    SyncStatus,
)
from pepeunit_core.db.models import RepositoryRegistry, Rollout, RolloutUnit, Unit
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import UnitStateRow
from pepeunit_core.topics import CommandTopicName, command_topic
from tests.control_plane_registry.git_sources import SourceRepository
from tests.services.mosquitto import MosquittoServer

from .conftest import API, CHEAP_ARGON2, auth, checked_client, login_token, make_settings, register
from .test_unit_commands_api import DOMAIN, Device, unit_row

REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.1
TICK_S = 0.2
LOGGER = "pepeunit.api.schedules"
NEVER = 10**9
"""An interval no test outlives: that job never comes due."""
REQUEST_SENT = FirmwareUpdateStatus.REQUEST_SENT
SCHEMA = {
    "input_base_topic": ["update/pepeunit"],
    "output_base_topic": ["state/pepeunit"],
    "input_topic": ["set/pepeunit"],
    "output_topic": ["temp/pepeunit"],
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """What the tests' own API (the `client`) runs with: no schedules."""
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        min_interval_sync_repository=0,
        schedules_enabled=False,
    )


def scheduling(settings: Settings, **overrides: object) -> Settings:
    """`settings` with the schedules on, polling fast."""
    values = settings.model_dump()
    return Settings(
        **{**values, "schedules_enabled": True, "schedules_poll_interval": POLL_S, **overrides}
    )


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.02)


class Runs:
    """What the recording jobs did: (scheduler, job, unix time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str, float]] = []

    def job(self, who: str, name: str) -> Job:
        def run(_stop: threading.Event) -> str:
            with self._lock:
                self._entries.append((who, name, time.time()))
            return "recorded"

        return Job(name, run)

    def of(self, who: str, name: str | None = None) -> list[float]:
        with self._lock:
            return [at for w, n, at in self._entries if w == who and name in (None, n)]


def recording_scheduler(lock: LeaderLock, who: str, runs: Runs) -> Scheduler:
    return Scheduler(
        lock,
        on_election=[runs.job(who, "elected")],
        periodic=[PeriodicJob(runs.job(who, "tick"), interval=TICK_S, first_after=TICK_S)],
        poll_interval=POLL_S,
        name=who,
    )


class LeaderWatch:
    """Samples who leads every 5 ms and remembers any moment with more than one leader."""

    def __init__(self, schedulers: Sequence[Scheduler]) -> None:
        self.overlaps = 0
        self._schedulers = schedulers
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.005):
            if sum(scheduler.is_leader for scheduler in self._schedulers) > 1:
                self.overlaps += 1

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.overlaps


def single_leader(schedulers: Sequence[Scheduler]) -> Scheduler:
    wait_until(lambda: any(s.is_leader for s in schedulers), "a scheduler leads")
    leaders = [s for s in schedulers if s.is_leader]
    assert len(leaders) == 1
    return leaders[0]


def test_one_scheduler_runs_the_jobs_and_another_takes_over_when_it_stops(settings: Settings):
    runs = Runs()
    schedulers = {
        who: recording_scheduler(make_leader_lock(settings), who, runs) for who in ("a", "b")
    }
    watch = LeaderWatch(list(schedulers.values()))
    try:
        for scheduler in schedulers.values():
            scheduler.start()
        leader = single_leader(list(schedulers.values()))
        first = next(who for who, s in schedulers.items() if s is leader)
        second = next(who for who in schedulers if who != first)
        wait_until(lambda: len(runs.of(first, "tick")) >= 4, "the leader ticks")
        assert not schedulers[second].is_leader
        assert runs.of(second) == []
        assert len(runs.of(first, "elected")) == 1

        stopped_at = time.time()
        assert leader.stop() is True
        assert not leader.is_leader
        wait_until(lambda: len(runs.of(second, "tick")) >= 2, "the other one takes over")
        assert max(runs.of(first)) <= stopped_at < min(runs.of(second))
        assert len(runs.of(second, "elected")) == 1
    finally:
        for scheduler in schedulers.values():
            scheduler.stop()
        assert watch.stop() == 0, "two schedulers led at once"


def read_records(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(name, float(at)) for name, at in (line.split() for line in lines)]


def test_a_killed_runner_process_is_replaced(settings: Settings, tmp_path: Path):
    record = tmp_path / "holder-runs"
    arguments = [settings.resolved_sqlalchemy_url, str(tmp_path / "holder-data"), str(record)]
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.control_plane.schedule_holder", *arguments],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )
    runs = Runs()
    local = recording_scheduler(make_leader_lock(settings), "local", runs)
    try:
        wait_until(lambda: len(read_records(record)) >= 2, "the other process leads", 60)
        local.start()
        ticks = len(read_records(record))
        wait_until(lambda: len(read_records(record)) >= ticks + 4, "the other process ticks on")
        assert not local.is_leader
        assert runs.of("local") == []

        holder.kill()
        holder.wait(timeout=10)
        wait_until(lambda: len(runs.of("local", "tick")) >= 2, "this process takes over")
        assert [name for name, _ in read_records(record)].count("elected") == 1
        assert max(at for _, at in read_records(record)) < min(runs.of("local"))
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        local.stop()


def advisory_lock_holder(url: str) -> int | None:
    """The server pid of the session holding the schedules' lock, if any."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = CAST(:namespace AS oid) AND objid = CAST(:lock_id AS oid)"
                ),
                {"namespace": ADVISORY_LOCK_NAMESPACE, "lock_id": SCHEDULES_LOCK_ID},
            )
    finally:
        engine.dispose()


def test_a_runner_whose_connection_drops_hands_over(
    migrated_postgresql_url: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    settings = make_settings(migrated_postgresql_url)
    runs = Runs()
    schedulers = [recording_scheduler(make_leader_lock(settings), who, runs) for who in "ab"]
    try:
        for scheduler in schedulers:
            scheduler.start()
        single_leader(schedulers)
        session_pid = advisory_lock_holder(migrated_postgresql_url)
        assert session_pid is not None

        engine = make_engine(migrated_postgresql_url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": session_pid})
        finally:
            engine.dispose()
        dropped_at = time.time()
        wait_until(
            lambda: advisory_lock_holder(migrated_postgresql_url) not in (None, session_pid),
            "a new session holds the lock",
        )
        wait_until(lambda: sum(s.is_leader for s in schedulers) == 1, "one leader again")
        assert "lost the PostgreSQL advisory lock" in caplog.text
        wait_until(
            lambda: any(at > dropped_at for who in "ab" for at in runs.of(who, "tick")),
            "the jobs go on",
        )
    finally:
        for scheduler in schedulers:
            scheduler.stop()
    assert advisory_lock_holder(migrated_postgresql_url) is None, "the lock outlived a stop"


def test_a_failing_job_is_logged_and_the_timetable_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    calls: list[float] = []

    def flaky(_stop: threading.Event) -> str:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise RuntimeError(f"broken run {len(calls)}")
        return "fine"

    def broken(_stop: threading.Event) -> str:
        raise OSError("disk gone")

    scheduler = Scheduler(
        FileLock(tmp_path / "schedules.lock"),
        on_election=[Job("broken start", broken)],
        periodic=[PeriodicJob(Job("flaky", flaky), interval=TICK_S, first_after=0)],
        poll_interval=POLL_S,
    )
    scheduler.start()
    try:
        wait_until(lambda: len(calls) >= 4, "the flaky job runs on")
        assert scheduler.is_leader
    finally:
        assert scheduler.stop() is True
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().split(" failed after ")[0] for r in failures][:3] == [
        "schedules: broken start",
        "schedules: flaky",
        "schedules: flaky",
    ]
    assert [r.exc_info[1].args for r in failures if r.exc_info][:3] == [
        ("disk gone",),
        ("broken run 1",),
        ("broken run 2",),
    ]
    assert ": fine" in caplog.text
    assert FileLock(tmp_path / "schedules.lock").try_acquire(), "the lock outlived a stop"


def test_a_periodic_job_keeps_its_timetable_and_skips_missed_runs():
    job = PeriodicJob(Job("job", lambda _stop: ""), interval=10, first_after=5)
    assert job.next_run(elected_at=100, now=100) == 105
    assert job.next_run(elected_at=100, now=105) == 115
    assert job.next_run(elected_at=100, now=107.5) == 115
    assert job.next_run(elected_at=100, now=131) == 135  # ran late: 115 and 125 are skipped
    with pytest.raises(ValueError):
        PeriodicJob(Job("job", lambda _stop: ""), interval=0, first_after=0)


def user_token(client: TestClient) -> dict[str, str | bytes]:
    register(client, "scheduler-user")
    return auth(login_token(client, "scheduler-user"))


def create_registry(client: TestClient, headers: dict, url: str) -> str:
    body = {"platform": "Github", "repository_url": url, "is_public_repository": True}
    response = client.post(f"{API}/repository_registry", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["uuid"]


def registry(client: TestClient, headers: dict, uuid: str) -> dict:
    response = client.get(f"{API}/repository_registry/{uuid}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def head_commit(client: TestClient, headers: dict, uuid: str) -> str:
    url = f"{API}/repository_registry/branch_commits/{uuid}?repo_branch=main&limit=1"
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()[0]["commit"]


def unit_source(root: Path, name: str) -> SourceRepository:
    root.mkdir(parents=True, exist_ok=True)
    source = SourceRepository(root, name)
    files = {"schema_example.json": json.dumps(SCHEMA).encode(), "main.py": b"print(1)\n"}
    source.tag("v1", source.commit("Unit", files))
    source.publish()
    return source


def test_registries_are_cloned_at_election_and_synced_periodically(
    client: TestClient, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    user = user_token(client)
    fetched, restored = (unit_source(tmp_path / "sources", name) for name in ("f", "r"))
    fetched_uuid = create_registry(client, user, fetched.url)
    restored_uuid = create_registry(client, user, restored.url)
    assert client.app.state.scheduler is None  # type: ignore[attr-defined]
    new_commit = fetched.commit("New work", {"main.py": b"print(2)\n"})
    fetched.publish()
    restored_clone = registry_clone_path(settings, restored_uuid)
    shutil.rmtree(restored_clone)
    before = registry(client, user, fetched_uuid)

    election_only = scheduling(settings, registry_sync_interval=NEVER)
    with checked_client(create_app(election_only, password_hasher=CHEAP_ARGON2)):
        wait_until(
            lambda: "missing registry clones done" in caplog.text, "the election job ran", 30
        )
    assert is_clone(restored_clone)
    assert registry(client, user, restored_uuid)["sync_status"] == "Updated"
    assert registry(client, user, fetched_uuid) == before, "a registry with a clone was synced"
    assert "registries without a clone: 1 synced, 0 failed, 0 skipped" in caplog.text

    periodic = scheduling(settings, registry_sync_interval=0.5)
    with checked_client(create_app(periodic, password_hasher=CHEAP_ARGON2)):
        wait_until(
            lambda: head_commit(client, user, fetched_uuid) == new_commit,
            "the periodic sync fetches the new commit",
            30,
        )
    assert registry(client, user, fetched_uuid)["sync_status"] == "Updated"
    assert "registries: 2 synced, 0 failed, 0 skipped" in caplog.text


def test_a_registry_being_synced_elsewhere_is_skipped_not_failed(
    client: TestClient, settings: Settings, tmp_path: Path
):
    user = user_token(client)
    busy_uuid = create_registry(client, user, unit_source(tmp_path / "sources", "busy").url)
    context = client.app.state.context  # type: ignore[attr-defined]
    with context.session_factory() as session:
        busy = session.get(RepositoryRegistry, UUID(busy_uuid))
        assert busy is not None
        busy.sync_status, busy.sync_last_datetime = SyncStatus.PROCESSING, utc_now()
        session.commit()
    report = sync_registries(
        context.session_factory, settings, threading.Event(), only_missing=False
    )
    assert (report.synced, report.failed, report.skipped) == (0, 0, 1)


def create_unit(client: TestClient, headers: dict, url: str) -> str:
    registry_uuid = create_registry(client, headers, url)
    body = {"repository_registry_uuid": registry_uuid, "default_branch": "main", "name": "fleet"}
    repo = client.post(f"{API}/repos", json=body, headers=headers)
    assert repo.status_code == 201, repo.text
    body = {
        "repo_uuid": repo.json()["uuid"],
        "name": "fleet-1",
        "is_auto_update_from_repo_unit": True,
    }
    unit = client.post(f"{API}/units", json=body, headers=headers)
    assert unit.status_code == 201, unit.text
    return unit.json()["uuid"]


def wait_for_update(device: Device, topic: str, commit: str, timeout_s: float = 30) -> None:
    """Reads Updates until one carries `commit` (earlier ones may carry the old target)."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no Update to {commit} within {timeout_s} s"
        command = json.loads(device.wait_for(topic, remaining))
        assert command["COMMAND"] == "Update"
        if command["PU_COMMIT_VERSION"] == commit:
            return


class RunningApps:
    """Apps with their lifespan entered, as an API server would run them."""

    def __init__(self, apps: Sequence[FastAPI]) -> None:
        self._clients: dict[int, TestClient] = {}
        for app in apps:
            self._clients[id(app)] = client = checked_client(app)
            client.__enter__()

    def stop(self, app: FastAPI) -> None:
        self._clients.pop(id(app)).__exit__(None, None, None)

    def stop_all(self) -> None:
        for client in self._clients.values():
            client.__exit__(None, None, None)
        self._clients.clear()


def test_auto_updating_units_get_updates_from_the_runner_and_its_successor(
    client: TestClient, settings: Settings, tmp_path: Path, mosquitto_server: MosquittoServer
):
    user = user_token(client)
    source = unit_source(tmp_path / "sources", "fleet")
    unit_uuid = create_unit(client, user, source.url)
    topic = command_topic(DOMAIN, unit_uuid, CommandTopicName.UPDATE)
    device = Device(mosquitto_server.port, [topic])
    second_version = source.commit("Version 2", {"main.py": b"print(2)\n"})
    source.tag("v2", second_version)
    source.publish()
    settings = scheduling(
        settings,
        mqtt_port=mosquitto_server.port,
        registry_sync_interval=0.6,
        firmware_update_interval=0.6,
    )
    apps = [create_app(settings, password_hasher=CHEAP_ARGON2) for _ in range(2)]
    running = RunningApps(apps)
    try:
        schedulers = [app.state.scheduler for app in apps]
        watch = LeaderWatch(schedulers)
        leader = single_leader(schedulers)
        wait_for_update(device, topic, second_version)
        # Recorded once the broker has acknowledged the Update, so maybe just after it arrived.
        wait_until(
            lambda: unit_row(apps[0], unit_uuid).firmware_update_target_commit == second_version,
            "the unit's target is recorded",
        )
        assert unit_row(apps[0], unit_uuid).firmware_update_status is REQUEST_SENT

        running.stop(next(app for app in apps if app.state.scheduler is leader))
        assert not leader.is_leader
        third_version = source.commit("Version 3", {"main.py": b"print(3)\n"})
        source.tag("v3", third_version)
        source.publish()
        successor = single_leader(schedulers)
        assert successor is not leader
        wait_for_update(device, topic, third_version)
        wait_until(
            lambda: unit_row(apps[0], unit_uuid).firmware_update_target_commit == third_version,
            "the successor records the new target",
        )
        assert watch.stop() == 0, "two apps ran the schedules at once"
    finally:
        running.stop_all()
        device.close()


def rollout_state(app: FastAPI, uuid: str) -> tuple[RolloutStatus, list[RolloutUnitOutcome]]:
    with app.state.context.session_factory() as session:
        rollout = session.get_one(Rollout, UUID(uuid))
        outcomes = session.scalars(
            select(RolloutUnit.outcome).where(RolloutUnit.rollout_uuid == rollout.uuid)
        ).all()
        return rollout.status, list(outcomes)


def report_state(app: FastAPI, unit_uuid: str, commit: str) -> None:
    """A state report stored as the dataflow stores it."""
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, UUID(unit_uuid))
        row = UnitStateRow(unit_uuid, "{}", commit, utc_now())
        apply_state_report(unit, row, update_timeout=timedelta(minutes=10))
        session.commit()


def test_the_runner_drives_a_rollout_and_its_successor_finishes_it(
    client: TestClient, settings: Settings, tmp_path: Path, mosquitto_server: MosquittoServer
):
    """One Update per unit although two apps compete, and the rollout goes on from the
    database after the runner stops."""
    user = user_token(client)
    source = unit_source(tmp_path / "sources", "rolled")
    unit_uuid = create_unit(client, user, source.url)
    repo_uuid = client.get(f"{API}/units/{unit_uuid}", headers=user).json()["repo_uuid"]
    registry_uuid = client.get(f"{API}/repos/{repo_uuid}", headers=user).json()[
        "repository_registry_uuid"
    ]
    first_version = head_commit(client, user, registry_uuid)
    second_version = source.commit("Version 2", {"main.py": b"print(2)\n"})
    source.tag("v2", second_version)
    source.publish()
    synced = client.patch(
        f"{API}/repository_registry/update_local_repository/{registry_uuid}", headers=user
    )
    assert synced.status_code == 204, synced.text
    report_state(client.app, unit_uuid, first_version)
    stage = {"size_kind": "Percent", "size_value": 100, "soak_seconds": 0,
             "confirm_deadline_seconds": 60}  # fmt: skip
    body = {"repo_uuid": repo_uuid, "target_kind": "Tag", "target_ref": "v2", "stages": [stage]}
    created = client.post(f"{API}/rollouts", json=body, headers=user)
    assert created.status_code == 201, created.text
    rollout_uuid = created.json()["uuid"]
    topic = command_topic(DOMAIN, unit_uuid, CommandTopicName.UPDATE)
    device = Device(mosquitto_server.port, [topic])
    settings = scheduling(
        settings,
        mqtt_port=mosquitto_server.port,
        rollout_step_interval=0.3,
        rollout_metrics_dir=tmp_path / "metrics",
    )
    apps = [create_app(settings, password_hasher=CHEAP_ARGON2) for _ in range(2)]
    running = RunningApps(apps)
    try:
        schedulers = [app.state.scheduler for app in apps]
        watch = LeaderWatch(schedulers)
        leader = single_leader(schedulers)
        wait_for_update(device, topic, second_version)
        wait_until(
            lambda: (
                rollout_state(apps[0], rollout_uuid)
                == (RolloutStatus.RUNNING, [RolloutUnitOutcome.SENT])
            ),
            "the rollout records the unit as sent",
        )
        running.stop(next(app for app in apps if app.state.scheduler is leader))
        report_state(apps[0], unit_uuid, second_version)
        successor = single_leader(schedulers)
        assert successor is not leader
        wait_until(
            lambda: (
                rollout_state(apps[0], rollout_uuid)
                == (RolloutStatus.COMPLETED, [RolloutUnitOutcome.HEALTHY])
            ),
            "the successor completes the rollout",
        )
        assert watch.stop() == 0, "two apps ran the schedules at once"
        assert device.messages == [], "a unit was sent a second Update"
        # The runner writes the file after the step that committed the status.
        metrics = tmp_path / "metrics" / "pepeunit_rollouts.prom"
        wait_until(
            lambda: (
                metrics.exists()
                and 'pepeunit_rollouts{status="Completed"} 1.0' in metrics.read_text().splitlines()
            ),
            "the metrics file counts the rollout as completed",
        )
    finally:
        running.stop_all()
        device.close()
