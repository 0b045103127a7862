"""The Telegram bot against the fake Bot API server (tests/services/telegram.py), polling as
`pepeunit bot` does, with the API's services on SQLite and PostgreSQL, a registry cloned from a
real git repository, chdb for logs and a private Mosquitto for commands.

The world is built once per backend and module: alice owns a Public unit (`thermo-1`, whose
schema takes Update, EnvUpdate and LogSync) and a Private one; bob owns a Public one; a few
more Public units fill the pages (3 per page here). Each test talks from chats of its own.
"""

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

import pytest
from aiogram.utils.backoff import BackoffConfig
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.bot import BotServices, PollingBot
from pepeunit_core.db.models import RepositoryRegistry, User
from pepeunit_core.settings import Settings
from tests.control_plane.conftest import (  # noqa: F401 (fixtures)
    API,
    CHEAP_ARGON2,
    auth,
    checked_client,
    database_url,
    login_token,
    make_settings,
    migrated_postgresql_url,
    migrated_sqlite_url,
    register,
)
from tests.control_plane.test_access_matrix import empty_database
from tests.control_plane_registry.git_sources import SourceRepository, git
from tests.pepeunit_core.builders import add_repo, add_unit
from tests.services.clickhouse import migrated_chdb_database
from tests.services.mosquitto import MosquittoServer
from tests.services.telegram import (  # noqa: F401 (fixture)
    RunningFakeTelegram,
    SentMessage,
    fake_telegram,
    running_fake_telegram,
)

BACKENDS = ["sqlite", "postgresql"]
QUICK_BACKOFF = BackoffConfig(min_delay=0.2, max_delay=0.5, factor=1.5, jitter=0.1)
"""Polling comes back within half a second of Telegram doing so."""
BOT_LINK = "https://t.me/pepeunit_test_bot"
PER_PAGE = 3
SCHEMA = {
    "input_base_topic": ["update/pepeunit", "env_update/pepeunit", "log_sync/pepeunit"],
    "output_base_topic": ["state/pepeunit", "log/pepeunit"],
    "input_topic": ["setpoint/pepeunit"],
    "output_topic": ["temperature/pepeunit"],
}
FILLER_UNITS = ("filler-a", "filler-b", "filler-c", "filler-d", "filler-e")
_chat_ids = itertools.count(700_001)


def new_chat_id() -> int:
    return next(_chat_ids)


class BotThread:
    """The bot polling the fake server from an event loop of its own."""

    def __init__(self, services: BotServices) -> None:
        self._services = services
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="telegram-bot", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._run())
        finally:
            self._loop.close()

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        polling = PollingBot(self._services, polling_timeout=5, backoff=QUICK_BACKOFF)
        running = asyncio.create_task(polling.run(handle_signals=False))
        self._started.set()
        await self._stop.wait()
        await polling.stop()
        await running

    def start(self) -> None:
        self._thread.start()
        assert self._started.wait(10)

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


@contextmanager
def running_bot(services: BotServices) -> Iterator[BotThread]:
    bot = BotThread(services)
    bot.start()
    try:
        yield bot
    finally:
        bot.stop()


@dataclass
class Chat:
    """A Telegram chat with the bot, as the test's user types and taps in it."""

    telegram: RunningFakeTelegram
    chat_id: int = field(default_factory=new_chat_id)

    def seen(self) -> int:
        return len(self.telegram.messages_to(self.chat_id))

    def say(self, text: str, replies: int = 1) -> list[SentMessage]:
        """Sends `text`; the bot's next `replies` messages."""
        before = self.seen()
        self.telegram.send_text(self.chat_id, text)
        return self.telegram.wait_for_messages(self.chat_id, replies, after=before)

    def ask(self, text: str) -> SentMessage:
        (answer,) = self.say(text)
        return answer

    def tap(self, message: SentMessage, button: str, replies: int = 1) -> list[SentMessage]:
        """Presses a button; the new messages it brings (none: wait for the answer)."""
        before, answered = self.seen(), len(self.telegram.answered_callbacks)
        self.telegram.press(message, button)
        if replies == 0:
            self.telegram.wait_for(lambda: len(self.telegram.answered_callbacks) > answered)
            return []
        return self.telegram.wait_for_messages(self.chat_id, replies, after=before)

    def forge(self, message: SentMessage, data: str) -> SentMessage:
        """Presses a button this chat was never shown (forged callback data)."""
        before = self.seen()
        self.telegram.press_data(message, data)
        (answer,) = self.telegram.wait_for_messages(self.chat_id, 1, after=before)
        return answer

    def tap_in_place(self, message: SentMessage, button: str) -> SentMessage:
        """Presses a button that edits its own message (paging)."""
        edits = message.edits
        self.telegram.press(message, button)
        self.telegram.wait_for(lambda: message.edits > edits)
        return message


@dataclass
class World:
    app: FastAPI
    client: TestClient
    settings: Settings
    services: BotServices
    telegram: RunningFakeTelegram
    clickhouse: Client
    mosquitto: MosquittoServer
    headers: dict[str, dict]
    ids: dict[str, str]
    source: SourceRepository

    def uuid(self, name: str) -> UUID:
        return UUID(self.ids[name])

    def chat(self) -> Chat:
        return Chat(self.telegram)

    def verification_code(self, user: str) -> str:
        response = self.client.get(
            f"{API}/users/generate_verification_link/", headers=self.headers[user]
        )
        assert response.status_code == 200, response.text
        link = response.json()
        assert link.startswith(f"{BOT_LINK}?start=")
        return link.removeprefix(f"{BOT_LINK}?start=")

    def linked_chat(self, user: str) -> Chat:
        chat = self.chat()
        answer = chat.ask(f"/start {self.verification_code(user)}")
        assert "now linked" in (answer.text or ""), answer.text
        return chat


def _created(response: object) -> str:
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()["uuid"]  # type: ignore[attr-defined]


def _populate(world: World) -> None:
    client, ids, headers = world.client, world.ids, world.headers
    ids["commit"] = git("rev-parse", "v1.0.0^{commit}", cwd=world.source.work)
    for actor, login in (("admin", "admin"), ("alice", "alice"), ("bob", "bobby")):
        ids[actor] = register(client, login)["uuid"]
        headers[actor] = auth(login_token(client, login))
    body = {"platform": "Github", "repository_url": world.source.url, "is_public_repository": True}
    registry = _created(
        client.post(f"{API}/repository_registry", json=body, headers=headers["alice"])
    )
    for owner, level, name in (("alice", "Public", "thermo"), ("bob", "Public", "bobs")):
        repo = {
            "repository_registry_uuid": registry,
            "default_branch": "main",
            "visibility_level": level,
            "name": f"{name}-repo",
        }
        ids[f"{owner}_repo"] = _created(
            client.post(f"{API}/repos", json=repo, headers=headers[owner])
        )
    for key, owner, level, name in (
        ("thermo", "alice", "Public", "thermo-1"),
        ("secret", "alice", "Private", "secret-1"),
        ("bobs", "bob", "Public", "bobs-unit"),
    ):
        unit = {"repo_uuid": ids[f"{owner}_repo"], "visibility_level": level, "name": name}
        ids[key] = _created(client.post(f"{API}/units", json=unit, headers=headers[owner]))
    # Units without a repository behind them, only to fill the pages of /units.
    with world.app.state.context.session_factory() as session:
        bob = session.get_one(User, UUID(ids["bob"]))
        repo = add_repo(session, bob, session.get_one(RepositoryRegistry, UUID(registry)))
        for name in FILLER_UNITS:
            add_unit(session, bob, repo, name)
        session.commit()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> SourceRepository:
    repository = SourceRepository(tmp_path_factory.mktemp("bot-source"), "thermostat")
    commit = repository.commit(
        "Thermostat",
        {
            "schema_example.json": json.dumps(SCHEMA).encode(),
            "env_example.json": b'{"DEVICE_LABEL": "unnamed"}',
            "main.py": b'print("hello from the unit")\n',
        },
    )
    repository.tag("v1.0.0", commit)
    repository.publish()
    return repository


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    source: SourceRepository,
    mosquitto_server: MosquittoServer,
) -> Iterator[World]:
    url = request.getfixturevalue(f"migrated_{request.param}_url")
    empty_database(url)
    root = tmp_path_factory.mktemp("bot-world")
    with (
        running_fake_telegram() as telegram,
        migrated_chdb_database(
            request.getfixturevalue("clickhouse_client"), request.getfixturevalue("clickhouse_path")
        ) as (clickhouse, dsn),
    ):
        settings = make_settings(
            url,
            save_repo_path=root / "repos",
            registry_allowed_url_schemes=("https", "file"),
            min_interval_sync_repository=0,
            clickhouse_database_url=dsn,
            metrics_cache_seconds=0,
            mqtt_port=mosquitto_server.port,
            telegram_token=telegram.token,
            telegram_bot_link=BOT_LINK,
            telegram_api_url=telegram.url,
            telegram_items_per_page=PER_PAGE,
        )
        app = create_app(settings, password_hasher=CHEAP_ARGON2)
        with checked_client(app) as client:
            services = BotServices.of_api(app.state.context)
            world = World(
                app,
                client,
                settings,
                services,
                telegram,
                clickhouse,
                mosquitto_server,
                {},
                {},
                source,
            )
            _populate(world)
            with running_bot(services):
                yield world
