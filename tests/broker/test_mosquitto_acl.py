"""The Mosquitto ACL file: its text, rewrites only on change (atomic, keeping the file's mode),
the reload command or SIGHUP, failures reported (and only logged by the hook), and
`pepeunit broker acl|token` as the installed console script."""

import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete

from control_plane.security import decode_token, make_backend_token
from control_plane.services.broker.access import UnitTopics
from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.broker.mosquitto_acl import (
    HEADER,
    MosquittoAclError,
    UnitAcl,
    render_mosquitto_acl,
    sync_mosquitto_acl,
)
from pepeunit_cli.main import main
from pepeunit_core.db.models import Unit
from tests.broker.conftest import BrokerWorld
from tests.broker.matrix import DOMAIN, ENCRYPT_KEY, SECRET_KEY, add_matrix_unit
from tests.services.ports import LOOPBACK, accepts_connections, free_loopback_port
from tests.services.processes import stop_process, wait_until_ready, with_parent_death_signal

CLI = Path(sys.executable).parent / "pepeunit"


def test_the_acl_lists_the_backend_then_each_unit_token_with_its_exact_topics():
    unit = UUID("00000000-0000-0000-0000-0000000000a1")
    topics = UnitTopics(
        publish=frozenset({"d/out-2", "d/out-1/pepeunit"}), subscribe=frozenset({"d/in/pepeunit"})
    )
    text = render_mosquitto_acl("BACKEND", [UnitAcl(unit, "UNIT-TOKEN", topics)])
    assert text == HEADER + "\n" + "\n".join(
        [
            "# The platform's own processes (Backend token of this PU_DOMAIN)",
            "user BACKEND",
            "topic readwrite #",
            "topic read $SYS/#",
            "",
            f"# unit {unit}",
            "user UNIT-TOKEN",
            "topic write d/out-1/pepeunit",
            "topic write d/out-2",
            "topic read d/in/pepeunit",
            "",
        ]
    )


def counting_reload_command(counter: Path) -> str:
    script = f"open({str(counter)!r}, 'a').write('reload\\n')"
    return shlex.join([sys.executable, "-c", script])


def reloads(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_the_file_is_rewritten_and_the_broker_reloaded_only_on_change(
    world: BrokerWorld, tmp_path: Path
):
    acl_file, counter = tmp_path / "etc" / "pepeunit.acl", tmp_path / "reloads"
    settings = world.settings.model_copy(
        update={
            "mosquitto_acl_file": acl_file,
            "mosquitto_reload_command": counting_reload_command(counter),
        }
    )
    first = sync_mosquitto_acl(settings, world.engine)
    assert (first.changed, first.reloaded, first.units, reloads(counter)) == (True, True, 2, 1)
    assert oct(acl_file.stat().st_mode & 0o777) == oct(0o640)
    text = acl_file.read_text()
    for unit in (world.matrix.a, world.matrix.b):
        assert f"user {unit.token}\n" in text
    assert f"user {make_backend_token(DOMAIN, SECRET_KEY)}\n" in text

    again = sync_mosquitto_acl(settings, world.engine)
    assert (again.changed, again.reloaded, reloads(counter)) == (False, False, 1)

    acl_file.chmod(0o604)
    with world.session_factory() as session:
        newcomer = add_matrix_unit(session, world.matrix.user, world.matrix.repo)
        session.commit()
        broker_access_changed(session, settings)
        assert reloads(counter) == 2 and f"user {newcomer.token}\n" in acl_file.read_text()
        session.execute(delete(Unit).where(Unit.uuid == newcomer.uuid))
        session.commit()
        broker_access_changed(session, settings)
    assert reloads(counter) == 3 and acl_file.read_text() == text
    assert oct(acl_file.stat().st_mode & 0o777) == oct(0o604)
    assert sorted(path.name for path in acl_file.parent.iterdir()) == [
        "pepeunit.acl",
        "pepeunit.acl.lock",
    ]


def test_concurrent_writers_leave_one_whole_file(world: BrokerWorld, tmp_path: Path):
    acl_file = tmp_path / "pepeunit.acl"
    settings = world.settings.model_copy(update={"mosquitto_acl_file": acl_file})
    errors: list[BaseException] = []

    def write() -> None:
        try:
            sync_mosquitto_acl(settings, world.engine)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not sync_mosquitto_acl(settings, world.engine).changed
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pepeunit.acl", "pepeunit.acl.lock"]


def test_sighup_goes_to_the_pid_in_the_pid_file(world: BrokerWorld, tmp_path: Path):
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys; signal.signal(signal.SIGHUP, lambda *_: sys.exit(42)); "
            "print('ready', flush=True); signal.pause()",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert waiter.stdout is not None and waiter.stdout.readline() == b"ready\n"
        pid_file = tmp_path / "mosquitto.pid"
        pid_file.write_text(f"{waiter.pid}\n")
        settings = world.settings.model_copy(
            update={"mosquitto_acl_file": tmp_path / "acl", "mosquitto_pid_file": pid_file}
        )
        assert sync_mosquitto_acl(settings, world.engine).reloaded
        assert waiter.wait(10) == 42
    finally:
        if waiter.poll() is None:
            waiter.send_signal(signal.SIGKILL)
            waiter.wait()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"mosquitto_pid_file": Path("/nonexistent/mosquitto.pid")}, "cannot signal the broker"),
        ({"mosquitto_reload_command": shlex.join(["false"])}, "reload command"),
        ({"mosquitto_reload_command": "/nonexistent/reload"}, "reload command"),
        ({"domain": "pepeunit test"}, "cannot root the topics"),
        ({"domain": "pepeunit/#"}, "cannot root the topics"),
    ],
    ids=["no pid file", "command fails", "no such command", "space in domain", "wildcard"],
)
def test_failures_raise_for_the_cli_and_are_only_logged_by_the_hook(
    world: BrokerWorld,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    setting: dict,
    message: str,
):
    settings = world.settings.model_copy(
        update={"mosquitto_acl_file": tmp_path / "pepeunit.acl", **setting}
    )
    with pytest.raises(MosquittoAclError, match=message):
        sync_mosquitto_acl(settings, world.engine)
    (tmp_path / "pepeunit.acl").unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR, "pepeunit.broker_access"), world.session_factory() as s:
        broker_access_changed(s, settings)
    assert "is not up to date" in caplog.text and message in caplog.text


def test_an_unwritable_place_is_reported(world: BrokerWorld, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = world.settings.model_copy(update={"mosquitto_acl_file": blocker / "acl"})
    with pytest.raises(MosquittoAclError, match="cannot write"):
        sync_mosquitto_acl(settings, world.engine)


def cli_environment(world: BrokerWorld, **values: str | None) -> dict[str, str | None]:
    return {
        "PU_SQLALCHEMY_DATABASE_URL": world.settings.resolved_sqlalchemy_url,
        "PU_SECRET_KEY": SECRET_KEY,
        "PU_ENCRYPT_KEY": ENCRYPT_KEY,
        "PU_DOMAIN": DOMAIN,
        "PU_DATA_DIR": str(world.root),
        "PU_MOSQUITTO_ACL_FILE": None,
        "PU_MOSQUITTO_PID_FILE": None,
        "PU_MOSQUITTO_RELOAD_COMMAND": None,
        **values,
    }


def test_the_console_script_writes_the_acl(world: BrokerWorld, tmp_path: Path):
    acl_file = tmp_path / "mosquitto" / "pepeunit.acl"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PU_")}
    values = cli_environment(world, PU_MOSQUITTO_ACL_FILE=str(acl_file))
    environment |= {name: value for name, value in values.items() if value is not None}
    written = subprocess.run(
        [str(CLI), "broker", "acl"], env=environment, capture_output=True, text=True
    )
    assert (written.returncode, written.stdout) == (
        0,
        f"{acl_file}: 2 units, written (no reload configured)\n",
    ), written.stderr
    settings = world.settings.model_copy(update={"mosquitto_acl_file": acl_file})
    assert not sync_mosquitto_acl(settings, world.engine).changed


def test_broker_acl_and_token_commands(world: BrokerWorld, tmp_path: Path):
    runner = CliRunner()
    acl_file = tmp_path / "pepeunit.acl"
    environment = cli_environment(world, PU_MOSQUITTO_ACL_FILE=str(acl_file))

    def run(*arguments: str, env: dict[str, str | None] = environment) -> Result:
        return runner.invoke(main, ["broker", *arguments], env=env)

    assert run("acl").output == f"{acl_file}: 2 units, written (no reload configured)\n"
    assert run("acl").output == f"{acl_file}: 2 units, unchanged\n"
    elsewhere = tmp_path / "other.acl"
    assert run("acl", "--file", str(elsewhere)).output == (
        f"{elsewhere}: 2 units, written (no reload configured)\n"
    )
    assert elsewhere.read_text() == acl_file.read_text()

    token = run("token")
    assert token.exit_code == 0, token.output
    claims = decode_token(token.output.strip(), SECRET_KEY)
    assert (claims.type.value, claims.domain) == ("Backend", DOMAIN)
    assert f"user {token.output.strip()}\n" in acl_file.read_text()

    unset = run("acl", env=cli_environment(world))
    assert unset.exit_code == 2 and "PU_MOSQUITTO_ACL_FILE" in unset.output
    broken = cli_environment(
        world, PU_MOSQUITTO_ACL_FILE=str(tmp_path / "x.acl"), PU_MOSQUITTO_PID_FILE="/nonexistent"
    )
    refused = run("acl", env=broken)
    assert refused.exit_code == 1 and "cannot signal the broker" in refused.output


def test_the_api_writes_the_acl_when_it_starts(tmp_path: Path):
    data_dir, acl_file = tmp_path / "data", tmp_path / "mosquitto" / "pepeunit.acl"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PU_")}
    environment |= {
        "PU_DATA_DIR": str(data_dir),
        "PU_DOMAIN": DOMAIN,
        "PU_SECRET_KEY": SECRET_KEY,
        "PU_ENCRYPT_KEY": ENCRYPT_KEY,
        "PU_MOSQUITTO_ACL_FILE": str(acl_file),
    }
    port = free_loopback_port()
    log_path = tmp_path / "api.log"
    command = [str(CLI), "api", "--host", LOOPBACK, "--port", str(port)]
    with log_path.open("wb") as log:
        api = subprocess.Popen(
            with_parent_death_signal(command, "TERM"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        wait_until_ready(
            api,
            lambda: accepts_connections(LOOPBACK, port),
            what="pepeunit api",
            log_path=log_path,
            timeout=60,
        )
        assert acl_file.read_text().startswith(HEADER)
        assert f"user {make_backend_token(DOMAIN, SECRET_KEY)}\n" in acl_file.read_text()
    finally:
        stop_process(api)


def test_broker_mosquitto_conf_command(world: BrokerWorld, tmp_path: Path):
    """The configuration the take-over tests run Mosquitto with (test_flow_session_takeover),
    as the command prints it; a value that would add a line of its own is refused."""
    runner = CliRunner()
    acl_file = tmp_path / "pepeunit.acl"

    def run(*arguments: str, **env: str) -> Result:
        environment = cli_environment(world, **env)
        return runner.invoke(main, ["broker", "mosquitto-conf", *arguments], env=environment)

    printed = run(PU_MOSQUITTO_ACL_FILE=str(acl_file))
    assert printed.exit_code == 0, printed.output
    lines = [line for line in printed.output.splitlines() if line and not line.startswith("#")]
    assert lines[:4] == [
        "per_listener_settings false",
        "listener 1883 0.0.0.0",
        "allow_anonymous true",
        f"acl_file {acl_file}",
    ]
    assert {"persistence true", "max_queued_messages 0", "connection_messages false"} <= set(lines)
    assert not any(line.startswith("log_type") and "debug" in line for line in lines)
    assert run().exit_code == 2  # no ACL file
    injected = run("--acl-file", str(acl_file), "--log-dest", "stdout\nallow_anonymous true")
    assert injected.exit_code == 2 and "line break" in injected.output
