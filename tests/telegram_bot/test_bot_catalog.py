"""`/registry`, `/repo` and `/dashboard` (issue 12.16) through the fake Bot API server, on SQLite
and PostgreSQL: pages of what each chat may see (a chat nobody linked: public registries and
repos, no dashboards; a user: never another user's Private repo or any of their dashboards),
details, searches, a registry's sync and a repo's "Update Related Units" over a real Mosquitto;
forged buttons for hidden objects are refused.
"""

import json
import time
from dataclasses import dataclass
from uuid import UUID

import pytest
from sqlalchemy import update

from control_plane.bot.callbacks import (
    RegistryReposPage,
    RegistrySync,
    RegistryView,
    RepoUnitsUpdate,
    RepoView,
)
from pepeunit_core.db.models import (
    Dashboard,
    Repo,
    RepositoryPlatform,
    RepositoryRegistry,
    Unit,
    User,
)
from pepeunit_core.topics import CommandTopicName, command_topic
from tests.control_plane.test_unit_commands_api import Device
from tests.pepeunit_core.builders import add_repo

from .conftest import API, Chat, World

DOMAIN = "pepeunit.test"
PRIVATE_URL = "https://example.com/bobby/private-fw.git"
EXTRA_PUBLIC_REPOS = ("extra-repo-1", "extra-repo-2")
GRAFANA_LINK = "http://grafana.example/d/abc/alice-board"
NAVIGATION = ("« Back", "Next »")


@dataclass(frozen=True)
class Catalog:
    world: World
    public_registry: str
    private_registry: str
    bobs_private_repo: str
    alice_dashboards: list[str]


@pytest.fixture(scope="module")
def catalog(world: World) -> Catalog:
    """On top of the world: bob's private registry and Private repo, two more public repos
    (paging), four dashboards of alice's (one in Grafana) and one of bob's."""
    client, headers, ids = world.client, world.headers, world.ids
    with world.app.state.context.session_factory() as session:
        repo = session.get_one(Repo, UUID(ids["alice_repo"]))
        registry = session.get_one(RepositoryRegistry, repo.repository_registry_uuid)
        public_registry = str(registry.uuid)
        bob = session.get_one(User, world.uuid("bob"))
        private = RepositoryRegistry(
            platform=RepositoryPlatform.GITLAB,
            repository_url=PRIVATE_URL,
            is_public_repository=False,
            creator_uuid=bob.uuid,
        )
        session.add(private)
        for name in EXTRA_PUBLIC_REPOS:
            add_repo(session, bob, registry, name)
        session.commit()
        private_registry = str(private.uuid)
    body = {
        "repository_registry_uuid": public_registry,
        "default_branch": "main",
        "visibility_level": "Private",
        "name": "bobs-secret",
    }
    response = client.post(f"{API}/repos", json=body, headers=headers["bob"])
    assert response.status_code == 201, response.text
    bobs_private_repo = response.json()["uuid"]

    def dashboard(owner: str, name: str) -> str:
        created = client.post(
            f"{API}/grafana/create_dashboard", json={"name": name}, headers=headers[owner]
        )
        assert created.status_code == 201, created.text
        return created.json()["uuid"]

    alice_dashboards = [dashboard("alice", f"alice-board-{n}") for n in range(4)]
    dashboard("bob", "bobs-board")
    with world.app.state.context.session_factory() as session:
        session.execute(
            update(Dashboard)
            .where(Dashboard.uuid == UUID(alice_dashboards[0]))
            .values(dashboard_url=GRAFANA_LINK)
        )
        session.commit()
    return Catalog(world, public_registry, private_registry, bobs_private_repo, alice_dashboards)


def names(message) -> list[str]:
    return [button["text"] for button in message.buttons() if button["text"] not in NAVIGATION]


def all_pages(chat: Chat, first) -> list[str]:
    """The item buttons of every page, following Next »."""
    found, page = names(first), first
    while "Next »" in [button["text"] for button in page.buttons()]:
        page = chat.tap_in_place(page, "Next »")
        found += names(page)
    return found


def test_help_and_the_command_menu_list_the_new_commands(world: World):
    text = world.chat().ask("/help").text or ""
    for command in ("/registry", "/repo", "/dashboard", "/unit", "/info"):
        assert f"\n{command} " in text, command
    world.telegram.wait_for(lambda: bool(world.telegram.commands))
    menu = [entry["command"] for entry in world.telegram.commands]
    assert menu == ["registry", "repo", "units", "unit", "dashboard", "info", "help"]


def test_registries_pages_details_and_sync(catalog: Catalog):
    world = catalog.world
    source_url = world.source.url
    stranger = world.chat()
    listed = stranger.ask("/registry")
    assert "<b>Registries</b> (1), page 1/1" in (listed.text or "")
    assert source_url in (listed.text or "") and PRIVATE_URL not in (listed.text or "")
    assert "none you can see" in (stranger.ask("/registry private-fw").text or "")
    assert "none you can see" in (stranger.ask("/registry mine").text or "")
    refused = "⚠️ Private registries are visible to logged-in users only"
    assert stranger.ask(f"/registry {catalog.private_registry}").text == refused
    assert stranger.forge(
        listed, RegistryView(uuid=UUID(catalog.private_registry)).pack()
    ).text == (refused)

    (opened,) = stranger.tap(listed, names(listed)[0])
    text = opened.text or ""
    for expected in (
        f"<b>{source_url}</b>",
        "Platform: Github, public",
        "Sync: Updated",
        "Branches (1): main",
        "Repos you can see: 5",  # thermo, bobs, bob's filler and the two extra ones
    ):
        assert expected in text, (expected, text)
    assert [button["text"] for button in opened.buttons()] == ["Repos"]
    private_repos = RegistryReposPage(uuid=UUID(catalog.private_registry), page=0, edit=False)
    assert stranger.forge(opened, private_repos.pack()).text == refused
    forged = stranger.forge(opened, RegistrySync(uuid=UUID(catalog.public_registry)).pack())
    assert forged.text == "⚠️ Link this chat to your account to sync a registry"

    # A user sees private registries too (as over REST), "mine" only their own.
    alice = world.linked_chat("alice")
    everything = alice.ask("/registry")
    assert "<b>Registries</b> (2)" in (everything.text or "")
    mine = alice.ask("/registry mine")
    assert "<b>Your registries</b> (1)" in (mine.text or "")
    assert source_url in (mine.text or "")
    found = alice.ask("/registry https://example.com/bobby")  # ':' is fine in a search
    assert "matching “https //example.com/bobby”" in (found.text or "")
    assert PRIVATE_URL in (found.text or "") and source_url not in (found.text or "")
    assert alice.ask("/registry " + "x" * 41).text == "⚠️ A search is at most 40 bytes long"

    detail = alice.ask(f"/registry {catalog.public_registry}")
    assert [button["text"] for button in detail.buttons()] == ["Update Local Registry", "Repos"]
    (synced,) = alice.tap(detail, "Update Local Registry")
    assert synced.text == f"✅ <b>{source_url}</b> is up to date."
    private = alice.ask(f"/registry {catalog.private_registry}")
    assert "Your credentials: none stored" in (private.text or "")
    assert "Platform: Gitlab, private" in (private.text or "")
    (refusal,) = alice.tap(private, "Update Local Registry")
    assert refusal.text == "⚠️ Syncing a private registry needs your own valid credentials"

    # The registry's repos, paged (3 a page); bob's Private repo only for bob.
    (first,) = alice.tap(detail, "Repos")
    assert "<b>Repos of the registry</b> (5), page 1/2" in (first.text or "")
    listed_repos = all_pages(alice, first)
    assert "bobs-secret" not in listed_repos and len(listed_repos) == 5
    bob = world.linked_chat("bob")
    (bobs,) = bob.tap(bob.ask(f"/registry {catalog.public_registry}"), "Repos")
    assert "bobs-secret" in all_pages(bob, bobs)


def test_repos_pages_details_and_units(catalog: Catalog):
    world = catalog.world
    public = {"thermo-repo", "bobs-repo", *EXTRA_PUBLIC_REPOS}
    stranger = world.chat()
    first = stranger.ask("/repo")
    assert "<b>Repos</b> (5), page 1/2" in (first.text or "")
    seen = all_pages(stranger, first)
    assert public <= set(seen) and "bobs-secret" not in seen and len(seen) == 5
    assert "none you can see" in (stranger.ask("/repo mine").text or "")

    alice = world.linked_chat("alice")
    alices = alice.ask("/repo")
    assert "bobs-secret" not in all_pages(alice, alices)
    assert alice.ask("/repo bobs-secret").text == "⚠️ No access to this repo"
    forged = alice.forge(alices, RepoView(uuid=UUID(catalog.bobs_private_repo)).pack())
    assert forged.text == "⚠️ No access to this repo"
    mine = alice.ask("/repo mine")
    assert names(mine) == ["thermo-repo"]
    search = alice.ask("/repo extra")
    assert sorted(names(search)) == list(EXTRA_PUBLIC_REPOS)
    bob = world.linked_chat("bob")
    assert "bobs-secret" in names(bob.ask("/repo mine"))
    assert "<b>bobs-secret</b> (Private)" in (bob.ask("/repo bobs-secret").text or "")

    commit = world.ids["commit"]
    with world.app.state.context.session_factory() as session:
        session.get_one(Unit, world.uuid("thermo")).current_commit_version = commit
        session.commit()
    detail = alice.ask("/repo thermo-repo")
    text = detail.text or ""
    for expected in (
        "<b>thermo-repo</b> (Public)",
        f"Registry: {world.source.url}",
        "Branch: main",
        "Updates: follows the newest tag",
        f"Target version: {commit[:8]} (v1.0.0)",
        "Units: 2",
        f"  {commit[:8]} (v1.0.0): 1",
    ):
        assert expected in text, (expected, text)
    assert [button["text"] for button in detail.buttons()] == [
        "Registry",
        "Units",
        "Update Related Units",
    ]
    assert alice.ask(f"/repo {catalog.world.ids['alice_repo']}").text == text  # by uuid
    (registry,) = alice.tap(detail, "Registry")
    assert f"<b>{world.source.url}</b>" in (registry.text or "")
    (units,) = alice.tap(detail, "Units")
    assert names(units) == ["secret-1", "thermo-1"]
    (unit,) = alice.tap(units, "thermo-1")
    assert "<b>thermo-1</b> (Public)" in (unit.text or "")

    # Bob sees the repo and its Public unit only, without the creator's button.
    theirs = bob.ask("/repo thermo-repo")
    assert [button["text"] for button in theirs.buttons()] == ["Registry", "Units"]
    (bobs_units,) = bob.tap(theirs, "Units")
    assert names(bobs_units) == ["thermo-1"]


def test_update_related_units_reaches_the_devices(catalog: Catalog):
    world = catalog.world
    uuid = world.ids["thermo"]
    topic = command_topic(DOMAIN, uuid, CommandTopicName.UPDATE)
    device = Device(world.mosquitto.port, [topic])
    try:
        update_button = RepoUnitsUpdate(uuid=UUID(world.ids["alice_repo"])).pack()
        for chat in (world.chat(), world.linked_chat("bob")):
            message = chat.ask("/repo thermo-repo")
            assert (chat.forge(message, update_button).text or "").startswith("⚠️ Only ")
        time.sleep(0.3)
        assert device.messages == [], "a refused update reached the device"

        alice = world.linked_chat("alice")
        (sent,) = alice.tap(alice.ask("/repo thermo-repo"), "Update Related Units")
        assert sent.text == "✅ Update sent to 2 of 2 unit(s) of <b>thermo-repo</b>."
        assert json.loads(device.wait_for(topic)) == {
            "COMMAND": "Update",
            "PU_COMMIT_VERSION": world.ids["commit"],
        }
    finally:
        device.close()


def test_dashboards_are_the_users_own(catalog: Catalog):
    world = catalog.world
    assert "link this chat" in (world.chat().ask("/dashboard").text or "")

    alice = world.linked_chat("alice")
    first = alice.ask("/dashboard")
    first_page = first.text or ""
    assert "<b>Your dashboards</b> (4), page 1/2" in first_page
    second_page = alice.tap_in_place(first, "Next »").text or ""
    assert "page 2/2" in second_page
    assert alice.tap_in_place(first, "« Back").text == first_page
    everything = first_page + second_page
    for number in range(4):
        assert f"alice-board-{number}" in everything
    assert "bobs-board" not in everything
    assert f'<a href="{GRAFANA_LINK}">alice-board-0</a>' in everything
    assert "alice-board-1 — not in Grafana yet (never synced)" in everything

    bob = world.linked_chat("bob").ask("/dashboard").text or ""
    assert "<b>Your dashboards</b> (1)" in bob and "bobs-board" in bob
    assert "alice-board" not in bob
