"""The `alerts:` section (docs/pipelines.md#alerts): what is accepted, defaults, and each rule's
error named as `Alerts.<field>`."""

import pytest

from pepeunit_core.pipeline_store import config_from_stored, stored_config_json
from pipelines.alert_rules import OfflineRule, ThresholdRule
from pipelines.validation import validate_config

BASE = {
    "active_period": {"type": "Permanent"},
    "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
    "processing_policy": {"policy_type": "LastValue"},
}


def issues_of(alerts: object, **base: object) -> list[str]:
    _, issues = validate_config({**BASE, **base, "alerts": alerts})
    return [str(issue) for issue in issues]


def test_rules_with_their_defaults():
    config, issues = validate_config(
        {**BASE, "alerts": [
            {"name": "too hot", "type": "above", "threshold": 30, "clear": 28, "cooldown": 600},
            {"type": "below", "threshold": -5},
            {"type": "offline", "after": 900},
        ]}
    )  # fmt: skip
    assert issues == []
    assert config is not None and config.alerts is not None
    hot, cold, silent = config.alerts
    assert isinstance(hot, ThresholdRule) and (hot.label, hot.clear_level) == ("too hot", 28)
    assert isinstance(cold, ThresholdRule)
    assert (cold.label, cold.clear_level, cold.cooldown) == ("below -5", -5, 300)
    assert isinstance(silent, OfflineRule) and silent.label == "offline 900 s"
    assert config_from_stored(stored_config_json(config)) == config


def test_a_pipeline_without_alerts_stores_the_reference_form():
    config, _ = validate_config(BASE)
    assert config is not None and config.alerts is None
    assert "alerts" not in stored_config_json(config)
    empty, _ = validate_config({**BASE, "alerts": []})
    assert empty is not None and empty.alerts is None


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ([{"type": "above", "threshold": 30, "clear": 31}], "Alerts.[0].clear: "),
        ([{"type": "below", "threshold": 3, "clear": 2}], "Alerts.[0].clear: "),
        ([{"type": "offline", "after": 0}], "Alerts.[0].after: "),
        ([{"type": "above", "threshold": "hot"}], "Alerts.[0].threshold: "),
        ([{"type": "above", "threshold": 1, "cooldown": -1}], "Alerts.[0].cooldown: "),
        ([{"type": "above", "threshold": 1, "colour": "red"}], "Alerts.[0].colour: "),
        ([{"type": "loud"}], "Alerts.[0]: type must be one of 'above', 'below', 'offline'"),
        ([{"threshold": 1}], "Alerts.[0]: "),
        (
            [{"type": "below", "threshold": 3}, {"type": "below", "threshold": 3}],
            "Alerts.[1].name: ",
        ),
        ([{"type": "offline", "after": 60}] * 17, "Alerts.alerts: "),
        ("often", "Alerts.alerts: "),
    ],
)
def test_each_broken_rule_is_reported_on_its_field(alerts: object, expected: str):
    issues = issues_of(alerts)
    assert len(issues) == 1 and issues[0].startswith(expected), issues


def test_thresholds_need_numbers_offline_does_not():
    text = {"type_input_value": "Text", "max_rate": 0, "max_size": 32}
    issues = issues_of([{"type": "above", "threshold": 1}], filters=text)
    assert issues == [
        "Alerts.[0].type: Value error, threshold alerts need filters.type_input_value: Number"
    ]
    assert issues_of([{"type": "offline", "after": 60}], filters=text) == []
