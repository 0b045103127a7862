"""The bot's chat commands through the fake Bot API server, on SQLite and PostgreSQL: linking
a chat with the one-time code of `GET /users/generate_verification_link/` (valid, expired,
reused, unknown, a chat that is someone else's), `/help`, `/info`, `/units` pages, `/unit`
details, and what a chat nobody linked sees: public units only, no owner buttons."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from control_plane.bot.callbacks import UnitsPage
from control_plane.services.users.telegram_link import CODE_LENGTH
from pepeunit_core.db.models import TelegramVerificationCode, Unit, User

from .conftest import API, FILLER_UNITS, PER_PAGE, World

OWNER_BUTTONS = ["▶ Update", "▶ EnvUpdate", "▶ LogSync", "env.json", "zip", "tar", "tgz", "Logs"]
PUBLIC_UNITS = sorted(["thermo-1", "bobs-unit", *FILLER_UNITS])
STATE = {
    "ifconfig": ["192.168.0.17", "255.255.255.0", "192.168.0.1"],
    "millis": 3_725_000,
    "mem_free": 81_920,
    "mem_alloc": 40_960,
    "freq": 240_000_000,
    "statvfs": [4096, 4096, 512, 256, 256, 0, 0, 0, 0, 255],
    "pu_commit_version": "x",
}


def user_row(world: World, name: str) -> User:
    with world.app.state.context.session_factory() as session:
        user = session.get_one(User, world.uuid(name))
        session.expunge(user)
        return user


def test_linking_with_one_time_codes(world: World):
    code = world.verification_code("alice")
    assert len(code) == CODE_LENGTH and code.isalnum()
    assert user_row(world, "alice").status == "Unverified"
    chat = world.chat()
    answer = chat.ask(f"/start {code}")
    assert answer.text == "✅ This chat is now linked to <b>alice</b>. /help"
    alice = user_row(world, "alice")
    assert (alice.telegram_chat_id, alice.status) == (str(chat.chat_id), "Verified")
    assert "linked to <b>alice</b>" in (chat.ask("/help").text or "")
    # The chat id is a login credential now, as in the reference.
    login = world.client.post(
        f"{API}/users/auth", json={"credentials": str(chat.chat_id), "password": "pass-word.1"}
    )
    assert login.status_code == 200, login.text

    # A code works once: another chat sending it again gets nowhere.
    other = world.chat()
    assert "unknown or was used" in (other.ask(f"/start {code}").text or "")
    assert "unknown or was used" in (other.ask("/start nonsense").text or "")
    assert "not linked" in (other.ask("/help").text or "")

    # Codes expire after 60 s: one past its time is refused, and used up.
    expired = world.verification_code("bob")
    with world.app.state.context.session_factory() as session:
        session.execute(
            update(TelegramVerificationCode)
            .where(TelegramVerificationCode.code == expired)
            .values(expiration_datetime=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    assert "expired" in (other.ask(f"/start {expired}").text or "")
    assert "unknown or was used" in (other.ask(f"/start {expired}").text or "")
    with world.app.state.context.session_factory() as session:
        left = session.scalars(select(TelegramVerificationCode.code)).all()
    assert expired not in left and code not in left
    assert user_row(world, "bob").telegram_chat_id is None

    # A chat linked to alice cannot be taken over with bob's code.
    taken = chat.ask(f"/start {world.verification_code('bob')}")
    assert taken.text == "⚠️ This chat is linked to another account already."
    assert user_row(world, "bob").telegram_chat_id is None
    # /start without a code is the help.
    assert "<b>Pepeunit</b>" in (world.chat().ask("/start").text or "")


def test_info_counts_for_anyone(world: World):
    metrics = world.client.get(f"{API}/metrics/").json()
    for chat in (world.chat(), world.linked_chat("alice")):
        text = chat.ask("/info").text or ""
        assert f"Users: {metrics['user_count']}" in text
        assert f"Repository registries: {metrics['repository_registry_count']}" in text
        assert f"Repos: {metrics['repo_count']}" in text
        assert f"Units: {metrics['unit_count']}" in text
        assert f"Unit nodes: {metrics['unit_node_count']}" in text
        assert f"Unit node edges: {metrics['unit_node_edge_count']}" in text


def listed_names(message) -> list[str]:
    return [button["text"] for button in message.buttons() if button["text"] not in NAVIGATION]


NAVIGATION = ("« Back", "Next »")


def test_units_pages(world: World):
    stranger = world.chat()
    first = stranger.ask("/units")
    assert f"<b>Units</b> ({len(PUBLIC_UNITS)}), page 1/3" in (first.text or "")
    pages = [listed_names(first)]
    assert [button["text"] for button in first.buttons()][-1] == "Next »"
    page = first
    for number in (2, 3):
        page = stranger.tap_in_place(page, "Next »")
        assert f"page {number}/3" in (page.text or "")
        pages.append(listed_names(page))
    assert "Next »" not in [button["text"] for button in page.buttons()]
    # Every public unit once, by name, PER_PAGE to a page; the Private one nowhere.
    assert [name for names in pages for name in names] == PUBLIC_UNITS
    assert all(len(names) <= PER_PAGE for names in pages)
    back = stranger.tap_in_place(page, "« Back")
    assert listed_names(back) == pages[1]
    # A stale button leading to the page shown: nothing to change, nothing to complain about.
    seen, edits = stranger.seen(), back.edits
    answered = len(world.telegram.answered_callbacks)
    world.telegram.press_data(back, UnitsPage(page=1, mine=False).pack())
    world.telegram.wait_for(lambda: len(world.telegram.answered_callbacks) > answered)
    assert (stranger.seen(), back.edits) == (seen, edits)
    assert "none you can see" in (stranger.ask("/units mine").text or "")

    alice = world.linked_chat("alice")
    mine = alice.ask("/units mine")
    assert "<b>Your units</b> (2), page 1/1" in (mine.text or "")
    assert listed_names(mine) == ["secret-1", "thermo-1"]
    everything = alice.ask("/units")
    assert f"({len(PUBLIC_UNITS) + 1})" in (everything.text or "")  # her Private unit too


def set_state(world: World, name: str) -> None:
    with world.app.state.context.session_factory() as session:
        unit = session.get_one(Unit, world.uuid(name))
        unit.unit_state_dict = json.dumps(STATE)
        unit.current_commit_version = world.ids["commit"]
        session.commit()


def test_unit_details_for_the_owner_and_for_strangers(world: World):
    set_state(world, "thermo")
    commit = world.ids["commit"]
    alice = world.linked_chat("alice")
    detail = alice.ask("/unit thermo-1")
    text = detail.text or ""
    for expected in (
        "<b>thermo-1</b> (Public)",
        "Repo: thermo-repo",
        f"Current version: {commit[:8]}",
        f"Target version: {commit[:8]} (v1.0.0)",
        "Update: none requested",
        "IP: 192.168.0.17, 255.255.255.0, 192.168.0.1",
        "Uptime: 1 h 2 min",
        "RAM: 80.0 KB free, 40.0 KB used",
        "CPU: 240 MHz",
        "Flash: 1024 KB free of 2048 KB",
    ):
        assert expected in text, (expected, text)
    # The unit's schema takes Update, EnvUpdate and LogSync, not SchemaUpdate.
    assert [button["text"] for button in detail.buttons()] == OWNER_BUTTONS
    # The same from the list's button.
    listed = alice.ask("/units mine")
    (opened,) = alice.tap(listed, "thermo-1")
    assert opened.text == text
    assert alice.ask(f"/unit {world.ids['thermo']}").text == text  # by uuid too
    private = alice.ask("/unit secret-1")
    assert "<b>secret-1</b> (Private)" in (private.text or "")
    assert "State: not reported yet" in (private.text or "")

    # A chat nobody linked, and bob's chat: public data, no target, no buttons.
    for chat in (world.chat(), world.linked_chat("bob")):
        seen = chat.ask("/unit thermo-1")
        assert "Current version" in (seen.text or "")
        assert "Target version" not in (seen.text or "")
        assert seen.buttons() == []
        hidden = chat.ask("/unit secret-1")
        assert hidden.text == "⚠️ No access to this unit"
    stranger = world.chat()
    assert stranger.ask("/unit no-such-unit").text == "⚠️ No unit is called no-such-unit"
    assert "Which unit?" in (stranger.ask("/unit").text or "")
    # Bob's own unit shows him its buttons (schema as for thermo-1).
    bob = world.linked_chat("bob")
    assert [b["text"] for b in bob.ask("/unit bobs-unit").buttons()] == OWNER_BUTTONS


def test_blocked_users_chat_is_refused(world: World):
    chat = world.chat()
    with world.app.state.context.session_factory() as session:
        user = session.get_one(User, world.uuid("admin"))
        user.telegram_chat_id, user.status = str(chat.chat_id), "Blocked"
        session.commit()
    try:
        assert chat.ask("/units").text == "⚠️ User is blocked"
    finally:
        with world.app.state.context.session_factory() as session:
            user = session.get_one(User, world.uuid("admin"))
            user.telegram_chat_id, user.status = None, "Unverified"
            session.commit()


def test_anything_else_gets_the_help(world: World):
    chat = world.chat()
    assert "<b>Pepeunit</b>" in (chat.ask("hello").text or "")
    assert "<b>Pepeunit</b>" in (chat.ask("/reboot").text or "")
