"""Alert semantics on the real engine (docs/pipelines.md#alerts): thresholds with hysteresis,
cooldown against flapping, offline detection on the clock, stable event identities, and the node
memory surviving a snapshot."""

from datetime import UTC, datetime, timedelta

from pipelines.clock import to_epoch_ms
from pipelines.engine import NodeMemory, Pipeline
from pipelines.validation import validate_config

START = datetime(2026, 12, 1, 12, tzinfo=UTC)
NODE = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"


def pipeline(*rules: dict, transformations: dict | None = None) -> Pipeline:
    document: dict = {
        "active_period": {"type": "Permanent"},
        "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
        "processing_policy": {"policy_type": "LastValue"},
        "alerts": list(rules),
    }
    if transformations:
        document["transformations"] = transformations
    config, issues = validate_config(document)
    assert config is not None, issues
    return Pipeline(NODE, config)


def feed(p: Pipeline, memory: NodeMemory, values: list[tuple[int, str]]) -> list[tuple[str, str]]:
    """(seconds after START, payload) in order; the (kind, value) of every event raised."""
    events = []
    for second, payload in values:
        result = p.process(memory, payload, START + timedelta(seconds=second))
        events += [(event.kind, event.value) for event in result.alerts]
    return events


def test_a_crossing_gives_one_alert_and_one_recovery_at_the_clear_level():
    p, memory = (
        pipeline({"type": "above", "threshold": 30, "clear": 28, "cooldown": 0}),
        NodeMemory(),
    )
    values = [
        (0, "25"),
        (1, "30"),
        (2, "31"),
        (3, "35"),
        (4, "29"),
        (5, "28.5"),
        (6, "28"),
        (7, "20"),
    ]
    assert feed(p, memory, values) == [("Alert", "31"), ("Recovery", "28")]


def test_flapping_within_the_cooldown_gives_no_extra_messages():
    p, memory = pipeline({"type": "below", "threshold": 5, "cooldown": 60}), NodeMemory()
    flapping = [(second, "4" if second % 2 == 0 else "6") for second in range(0, 40)]
    assert feed(p, memory, flapping) == [("Alert", "4"), ("Recovery", "6")]
    # After the cooldown the next crossing alerts again.
    assert feed(p, memory, [(61, "3"), (62, "7")]) == [("Alert", "3"), ("Recovery", "7")]


def test_thresholds_see_the_transformed_value_and_ignore_rejected_ones():
    p = pipeline({"type": "above", "threshold": 100, "cooldown": 0},
                 transformations={"multiplication_ratio": 10})  # fmt: skip
    memory = NodeMemory()
    assert feed(p, memory, [(0, "9"), (1, "11"), (2, "not a number"), (3, "9")]) == [
        ("Alert", "110.000000"),
        ("Recovery", "90.000000"),
    ]


def test_offline_fires_once_after_the_silence_and_recovers_on_the_next_value():
    p, memory = pipeline({"type": "offline", "after": 30, "cooldown": 0}), NodeMemory()
    assert p.watches_time
    at = lambda second: to_epoch_ms(START + timedelta(seconds=second))  # noqa: E731
    assert p.on_time(memory, at(0)) == []  # watching starts; no value yet
    assert p.on_time(memory, at(29)) == []
    fired = p.on_time(memory, at(30))
    assert [(event.kind, event.rule_name) for event in fired] == [("Alert", "offline 30 s")]
    assert p.on_time(memory, at(45)) == [] and p.on_time(memory, at(90)) == []
    assert feed(p, memory, [(91, "1")]) == [("Recovery", "1")]
    assert p.on_time(memory, at(120)) == []
    assert [event.kind for event in p.on_time(memory, at(121))] == ["Alert"]


def test_events_have_stable_identities_and_state_survives_a_snapshot():
    rule = {"type": "above", "threshold": 1, "cooldown": 300}
    first_run, second_run = pipeline(rule), pipeline(rule)
    memory_a, memory_b = NodeMemory(), NodeMemory()
    a = first_run.process(memory_a, "5", START).alerts
    b = second_run.process(memory_b, "5", START).alerts
    assert [event.uuid for event in a] == [event.uuid for event in b] and len(a) == 1
    restored = memory_a.copy()
    # Recovered from the snapshot: the open alert is remembered, so no second alert.
    assert first_run.process(restored, "6", START + timedelta(seconds=1)).alerts == []
    assert memory_a.alerts.rules["above 1"].open_alert
    assert [
        e.kind for e in first_run.process(restored, "0", START + timedelta(seconds=2)).alerts
    ] == ["Recovery"]
    assert memory_a.alerts.rules["above 1"].open_alert, "the snapshot is an independent copy"
