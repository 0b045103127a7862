"""The live stream of the units list, over a real HTTP connection: a changed value or status is
sent within a poll, only to those who may see it, and the stream ends when the client goes."""

import socket
import threading
import time
from datetime import UTC, datetime
from uuid import UUID

import httpx
from fastapi import FastAPI

from control_plane.console import live
from control_plane.console.session import SESSION_COOKIE
from control_plane.security import make_user_token
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Permission, Unit, UnitNode, User
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.console.server import serving
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit


def session_cookies(app: FastAPI, user: UUID) -> dict[str, str]:
    settings = app.state.context.settings
    return {SESSION_COOKIE: make_user_token(user, settings.resolved_secret_key, 600)}


class EventReader:
    """Reads a stream's events in a thread; `wait_for` waits for one with a given name and data."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.events: list[tuple[str, str]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(response,), daemon=True)
        self._thread.start()

    def _read(self, response: httpx.Response) -> None:
        name, data = "", []
        try:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data.append(line[len("data: ") :])
                elif line == "" and name:
                    with self._changed:
                        self.events.append((name, "\n".join(data)))
                        self._changed.notify_all()
                    name, data = "", []
        except httpx.HTTPError:
            pass

    def hang_up(self) -> None:
        """Closes the connection under the reading thread (closing the response would wait for
        the thread's read to return)."""
        stream = self._response.extensions["network_stream"]
        stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()

    def wait_for(self, name: str, contains: str, timeout_s: float) -> float:
        """Seconds until the event came."""
        started = time.monotonic()
        with self._changed:
            while not any(n == name and contains in d for n, d in self.events):
                left = timeout_s - (time.monotonic() - started)
                assert left > 0, f"no {name} with {contains!r} in {timeout_s} s: {self.events}"
                self._changed.wait(left)
        return time.monotonic() - started


def test_changed_values_and_status_arrive_within_a_poll(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    with app.state.context.session_factory() as session:
        owner = session.get_one(User, alice)
        repo = add_repo(session, owner, add_registry(session, owner))
        unit = add_unit(session, owner, repo, "sensor-1")
        unit.visibility_level = VisibilityLevel.INTERNAL
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
        node.visibility_level = VisibilityLevel.PRIVATE  # bob may see the unit, not the node
        hidden = add_unit(session, owner, repo, "secret-1")
        hidden.visibility_level = VisibilityLevel.PRIVATE
        session.commit()
        unit_uuid, node_uuid, hidden_uuid = unit.uuid, node.uuid, hidden.uuid
    with app.state.context.session_factory() as session:
        session.add(Permission(agent_type=PermissionEntity.USER, agent_user_uuid=alice,
                               resource_type=PermissionEntity.UNIT_NODE,
                               resource_unit_node_uuid=node_uuid))  # fmt: skip
        session.commit()

    url = f"{PREFIX}/units/live?unit={unit_uuid}&unit={hidden_uuid}"
    with (
        serving(app) as origin,
        httpx.Client(base_url=origin, cookies=session_cookies(app, alice)) as alice_http,
        httpx.Client(base_url=origin, cookies=session_cookies(app, bob)) as bob_http,
        alice_http.stream("GET", url, timeout=30) as alice_stream,
        bob_http.stream("GET", url, timeout=30) as bob_stream,
    ):
        assert alice_stream.status_code == 200
        assert alice_stream.headers["content-type"].startswith("text/event-stream")
        alice_events, bob_events = EventReader(alice_stream), EventReader(bob_stream)
        alice_events.wait_for(f"status-{unit_uuid}", "offline", 5)
        alice_events.wait_for(f"value-{node_uuid}", "no value", 5)
        bob_events.wait_for(f"status-{unit_uuid}", "offline", 5)

        with app.state.context.session_factory() as session:
            stored = session.get_one(UnitNode, node_uuid)
            stored.state, stored.last_update_datetime = "23.25", datetime.now(UTC)
            reported = session.get_one(Unit, unit_uuid)
            reported.unit_state_dict = '{"millis": 5}'
            reported.current_commit_version = "fedcba9876543210"
            reported.last_state_report_datetime = datetime.now(UTC)
            session.commit()
        took = alice_events.wait_for(f"value-{node_uuid}", ">23.25<", 2)
        assert took < 1.0, took
        alice_events.wait_for(f"status-{unit_uuid}", "online", 2)
        alice_events.wait_for(f"current-{unit_uuid}", "fedcba98", 2)
        bob_events.wait_for(f"status-{unit_uuid}", "online", 2)
        time.sleep(0.6)
        names = {name for name, _ in bob_events.events}
        assert f"value-{node_uuid}" not in names, bob_events.events
        assert f"status-{hidden_uuid}" not in names | {n for n, _ in alice_events.events}
        # Only changes are sent again: one event per change.
        values = [e for e in alice_events.events if e[0] == f"value-{node_uuid}"]
        assert len(values) == 2, values
        assert live.open_streams() == 2
        alice_events.hang_up()
        bob_events.hang_up()
        deadline = time.monotonic() + 2
        while live.open_streams() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.open_streams() == 0, "a stream outlived its client"
