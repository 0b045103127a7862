"""The Alerts page: the rules of the user's own pipelines and the events they raised, newest
first and paged, nothing of anyone else's; bad paging is a message, never a 500."""

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from fastapi import FastAPI

from control_plane.console.pages.alerts import PAGE_SIZE
from pepeunit_core.db.enums import AlertEventKind, UnitNodeType
from pepeunit_core.db.models import AlertEvent, User
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.control_plane.test_alerts_service import stored
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

EVENT = re.compile(r'<tr id="event-([0-9a-f-]+)">')
START = datetime(2026, 1, 1, tzinfo=UTC)


def test_rules_and_events_of_the_users_pipelines(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bobby = register(console, "alice"), register(console, "bobby")
    with app.state.context.session_factory() as session:
        nodes = {}
        for owner, topic in ((alice, "temp/pepeunit"), (bobby, "their/pepeunit")):
            user = session.get_one(User, owner)
            unit = add_unit(session, user, add_repo(session, user, add_registry(session, user)))
            node = add_node(session, unit, UnitNodeType.OUTPUT, topic)
            node.data_pipe_yml = stored(
                alerts=[{"type": "above", "threshold": 30, "clear": 28, "name": "too-hot"}]
            )
            nodes[owner] = node
        events = [
            AlertEvent(
                uuid=uuid4(),
                unit_node_uuid=nodes[alice].uuid,
                rule_name="too-hot",
                kind=AlertEventKind.ALERT if minute % 2 == 0 else AlertEventKind.RECOVERY,
                value=f"<{minute}>",
                message="above 30",
                event_datetime=START + timedelta(minutes=minute),
            )
            for minute in range(PAGE_SIZE + 3)
        ]
        theirs = AlertEvent(
            uuid=uuid4(), unit_node_uuid=nodes[bobby].uuid, rule_name="too-hot",
            kind=AlertEventKind.ALERT, value="99", message="above 30", event_datetime=START,
        )  # fmt: skip
        session.add_all([*events, theirs])
        session.commit()
        newest_first = [str(event.uuid) for event in reversed(events)]
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/alerts")
    assert page.status_code == 200
    rules = page.text.split('id="rules-title"')[1].split("</section>")[0]
    assert "temp/pepeunit" in rules and "their/pepeunit" not in rules
    assert "too-hot" in rules and "above 30" in rules and "clears at 28" in rules
    assert EVENT.findall(page.text) == newest_first[:PAGE_SIZE]
    assert f"{PAGE_SIZE + 3} events" in page.text and "&lt;52&gt;" in page.text
    assert ">fired<" in page.text and ">recovered<" in page.text and "Pending" in page.text
    older = console.get(f"{PREFIX}/alerts?page=2").text
    assert EVENT.findall(older) == newest_first[PAGE_SIZE:] and str(theirs.uuid) not in older
    assert console.get(f"{PREFIX}/alerts?page=0").status_code == 422


def test_no_rules_no_events(console: ConsoleClient):
    register(console, "admin")
    console.sign_in("admin")
    page = console.get(f"{PREFIX}/alerts").text
    assert "None of your pipelines has alert rules" in page and "0 events" in page
