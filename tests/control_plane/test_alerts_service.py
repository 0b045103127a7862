"""`services.nodes.alerts`: a user's alert rules and the events they raised, newest first and
paged, only of the user's own nodes (as only a node's creator reads its pipeline)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from fastapi import FastAPI

from control_plane.services.nodes.alerts import alert_events, alert_rules
from control_plane.services.paging import Page
from pepeunit_core.db.enums import AlertEventKind, UnitNodeType
from pepeunit_core.db.models import AlertEvent, UnitNode, User
from pepeunit_core.pipeline_store import stored_config_json
from pipelines.validation import validate_config
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit, add_user

PIPELINE = {
    "active_period": {"type": "Permanent"},
    "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
    "processing_policy": {"policy_type": "LastValue"},
}


def stored(**extra: object) -> str:
    config, issues = validate_config({**PIPELINE, **extra})
    assert config is not None, issues
    return stored_config_json(config)


def event(node: UnitNode, minutes: int, kind: AlertEventKind, value: str) -> AlertEvent:
    return AlertEvent(
        uuid=uuid4(),
        unit_node_uuid=node.uuid,
        rule_name="hot",
        kind=kind,
        value=value,
        message="above 30",
        event_datetime=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def test_rules_and_events_of_the_users_own_nodes(app: FastAPI):
    with app.state.context.session_factory() as session:
        alice, bob = add_user(session, "alice"), add_user(session, "bob")
        unit = add_unit(session, alice, add_repo(session, alice, add_registry(session, alice)))
        hot = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        hot.data_pipe_yml = stored(
            alerts=[
                {"type": "above", "threshold": 30, "name": "hot"},
                {"type": "offline", "after": 60},
            ]
        )
        plain = add_node(session, unit, UnitNodeType.OUTPUT, "plain/pepeunit")
        plain.data_pipe_yml = stored()
        broken = add_node(session, unit, UnitNodeType.OUTPUT, "broken/pepeunit")
        broken.data_pipe_yml = '{"alerts": "nope"}'
        others = add_unit(session, bob, add_repo(session, bob, add_registry(session, bob)))
        theirs = add_node(session, others, UnitNodeType.OUTPUT, "theirs/pepeunit")
        theirs.data_pipe_yml = hot.data_pipe_yml
        session.add_all([
            event(hot, 1, AlertEventKind.ALERT, "31"),
            event(hot, 3, AlertEventKind.RECOVERY, "29"),
            event(hot, 2, AlertEventKind.ALERT, "35"),
            event(theirs, 4, AlertEventKind.ALERT, "40"),
        ])  # fmt: skip
        session.commit()

        rules = alert_rules(session, session.get_one(User, alice.uuid))
        assert [(found.topic, found.unit_name) for found in rules] == [
            ("broken/pepeunit", unit.name),
            ("temp/pepeunit", unit.name),
        ]
        assert rules[0].rules == [] and rules[0].problem
        assert [rule.label for rule in rules[1].rules] == ["hot", "offline 60 s"]

        count, events = alert_events(session, alice, Page(0, 2))
        assert count == 3
        assert [(row.value, row.fired) for row in events] == [("29", False), ("35", True)]
        assert events[0].topic == "temp/pepeunit" and events[0].unit_name == unit.name
        _, rest = alert_events(session, alice, Page(2, 2))
        assert [row.value for row in rest] == ["31"]
        assert alert_events(session, bob, Page(0, 10))[0] == 1
