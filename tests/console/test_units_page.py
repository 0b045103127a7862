"""The units list: what the API would show the signed-in user, with each unit's status,
versions and last output values, searchable and paged, in a fixed number of queries."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import event

from pepeunit_core.db.enums import FirmwareUpdateStatus, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Unit, User
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

ROW = re.compile(r'<tr id="unit-([0-9a-f-]+)">')


def add_units(app: FastAPI, owner: UUID, names: list[str], **columns: object) -> list[UUID]:
    with app.state.context.session_factory() as session:
        user = session.get_one(User, owner)
        repo = add_repo(session, user, add_registry(session, user))
        made = []
        for name in names:
            unit = add_unit(session, user, repo, name)
            for column, value in columns.items():
                setattr(unit, column, value)
            made.append(unit.uuid)
        session.commit()
        return made


def shown_units(html: str) -> list[str]:
    return ROW.findall(html)


def test_each_unit_with_status_versions_and_last_values(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice = register(console, "alice")
    now = datetime.now(UTC)
    with app.state.context.session_factory() as session:
        user = session.get_one(User, alice)
        repo = add_repo(session, user, add_registry(session, user))
        online = add_unit(session, user, repo, "unit-online")
        online.unit_state_dict = '{"millis": 1}'
        online.last_state_report_datetime = now - timedelta(seconds=5)
        online.current_commit_version = "0123456789abcdef0123456789abcdef01234567"
        online.firmware_update_status = FirmwareUpdateStatus.ERROR
        online.firmware_update_error = "The unit reports version x"
        silent = add_unit(session, user, repo, "unit-silent")
        silent.unit_state_dict = '{"millis": 1}'
        silent.last_state_report_datetime = now - timedelta(hours=1)
        temperature = add_node(session, online, UnitNodeType.OUTPUT, "temperature/pepeunit")
        temperature.state = "21.5"
        temperature.last_update_datetime = now
        quiet = add_node(session, online, UnitNodeType.OUTPUT, "humidity/pepeunit")
        script = add_node(session, silent, UnitNodeType.OUTPUT, "label/pepeunit")
        script.state = "<script>alert(1)</script>" + "x" * 200
        add_node(session, online, UnitNodeType.INPUT, "setpoint/pepeunit")
        session.commit()
        ids = {"online": online.uuid, "silent": silent.uuid, "temp": temperature.uuid,
               "quiet": quiet.uuid, "script": script.uuid}  # fmt: skip
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/units").text
    assert shown_units(page) == [str(ids["online"]), str(ids["silent"])]  # by name
    online_row, silent_row = page.split(f'<tr id="unit-{ids["silent"]}">')
    assert ">online<" in online_row and ">offline<" in silent_row
    assert "update: Error" in online_row and "The unit reports version x" in online_row
    assert "01234567" in online_row and "0123456789abcdef0" not in online_row
    assert "not reported" in silent_row
    # The caller's own units show a target, or why there is none (this registry is not cloned).
    assert "none: The repository has no local clone" in online_row
    assert f'sse-swap="value-{ids["temp"]}"' in online_row and ">21.5</output>" in online_row
    assert "temperature/pepeunit" in online_row and "setpoint/pepeunit" not in online_row
    assert f'id="value-{ids["quiet"]}"' in online_row and "no value" in online_row
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x" * 200 not in page  # long values are cut
    live = re.search(r'sse-connect="([^"]+)"', page)
    assert live and live.group(1) == (
        f"{PREFIX}/units/live?unit={ids['online']}&amp;unit={ids['silent']}"
    )


def test_a_user_sees_what_the_api_lets_them_see(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    mine = add_units(app, alice, ["alice-internal"], visibility_level=VisibilityLevel.INTERNAL)
    theirs = add_units(app, bob, ["bob-private"], visibility_level=VisibilityLevel.PRIVATE)
    public = add_units(app, bob, ["bob-public"], visibility_level=VisibilityLevel.PUBLIC)
    console.sign_in("alice")
    shown = shown_units(console.get(f"{PREFIX}/units").text)
    assert sorted(shown) == sorted(str(uuid) for uuid in mine + public)
    token = console.post(
        f"{PREFIX}/api/v1/users/auth", json={"credentials": "alice", "password": "pass-word.1"}
    ).json()["token"]
    listed = console.get(f"{PREFIX}/api/v1/units", headers={"x-auth-token": token}).json()
    assert sorted(shown) == sorted(unit["uuid"] for unit in listed["units"])
    assert str(theirs[0]) not in shown
    # Bob's target versions are not alice's to see.
    bob_row = console.get(f"{PREFIX}/units?q=bob-public").text
    assert "<dt>target</dt>" not in bob_row


def test_search_and_pages(console: ConsoleClient, app: FastAPI):
    admin = register(console, "admin")
    add_units(app, admin, [f"pump-{n:03}" for n in range(120)] + ["valve-1", "valve-2"])
    console.sign_in("admin")
    first = console.get(f"{PREFIX}/units").text
    assert len(shown_units(first)) == 50 and "Page 1 of 3" in first and "122 units" in first
    assert 'rel="next" href="/pepeunit/units?q=&amp;page=2"' in first
    last = console.get(f"{PREFIX}/units?page=3").text
    assert len(shown_units(last)) == 22 and 'rel="prev"' in last and 'rel="next"' not in last
    found = console.get(f"{PREFIX}/units?q=VALVE").text
    assert len(shown_units(found)) == 2 and "2 units matching" in found
    fragment = console.get(f"{PREFIX}/units/rows?q=pump-11", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and len(shown_units(fragment.text)) == 10
    assert "No units yet" not in console.get(f"{PREFIX}/units?q=nothing-like-it").text
    assert len(shown_units(console.get(f"{PREFIX}/units?page=99").text)) == 0


def test_bad_query_input_is_a_message_not_a_500(console: ConsoleClient):
    register(console, "admin")
    console.sign_in("admin")
    for query in ("page=0", "page=abc", "page=-1", f"q={'a' * 300}", "q=%00"):
        answer = console.get(f"{PREFIX}/units?{query}")
        assert answer.status_code in (200, 422), (query, answer.status_code)
        if answer.status_code == 422:
            assert 'class="error"' in answer.text and "<html" in answer.text, query
    fragment = console.get(f"{PREFIX}/units/rows?page=abc", headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "<html" not in fragment.text
    stream = console.get(f"{PREFIX}/units/live?unit=not-a-uuid")
    assert stream.status_code == 422


def test_a_page_takes_the_same_queries_for_5_units_as_for_50(console: ConsoleClient, app: FastAPI):
    admin = register(console, "admin")
    for name in ("few", "many"):
        made = add_units(app, admin, [f"{name}-{n:03}" for n in range(5 if name == "few" else 50)])
        with app.state.context.session_factory() as session:
            for uuid in made:
                unit = session.get_one(Unit, uuid)
                add_node(session, unit, UnitNodeType.OUTPUT, "t/pepeunit")
                add_node(session, unit, UnitNodeType.OUTPUT, "h/pepeunit")
            session.commit()
    console.sign_in("admin")
    engine = app.state.context.engine
    counts = {}
    for name in ("few", "many"):
        statements: list[str] = []

        def count(*args: object, into: list[str] = statements) -> None:
            into.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = console.get(f"{PREFIX}/units?q={name}-").text
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(shown_units(page)) == (5 if name == "few" else 50)
        counts[name] = len(statements)
    assert counts["few"] == counts["many"], counts
    assert counts["many"] <= 8, counts
