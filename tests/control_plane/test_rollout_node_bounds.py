"""The value gate of a rollout, written as threshold alert rules (pure)."""

import pytest
from pydantic import ValidationError

from control_plane.models.rollout import NodeBound, RolloutCreate
from control_plane.services.rollouts.node_bounds import NODE_BOUNDS, bounds_violation

HOT = NodeBound.model_validate(
    {"topic_name": "temp/pepeunit", "rule": {"type": "above", "threshold": 80}}
)
COLD = NodeBound.model_validate(
    {"topic_name": "temp/pepeunit", "rule": {"name": "freezing", "type": "below", "threshold": 0}}
)


@pytest.mark.parametrize(
    ("values", "violation"),
    [
        ({"temp/pepeunit": "79.5"}, None),
        ({"temp/pepeunit": "80"}, None),
        ({"temp/pepeunit": "80.1"}, "temp/pepeunit is 80.1: above 80"),
        ({"temp/pepeunit": "-3"}, "temp/pepeunit is -3: freezing"),
        ({"temp/pepeunit": "hot"}, None),
        ({"temp/pepeunit": "nan"}, None),
        ({"other/pepeunit": "1000"}, None),
        ({}, None),
    ],
    ids=[
        "inside",
        "at the threshold",
        "above",
        "below, named",
        "not a number",
        "nan",
        "another node",
        "no value yet",
    ],
)
def test_a_value_out_of_bounds_is_named(values, violation):
    assert bounds_violation([HOT, COLD], values) == violation


def test_bounds_round_trip_as_stored():
    stored = NODE_BOUNDS.dump_json([HOT, COLD]).decode()
    assert NODE_BOUNDS.validate_json(stored) == [HOT, COLD]


@pytest.mark.parametrize(
    "bound",
    [
        {"topic_name": "t", "rule": {"type": "offline", "after": 10}},
        {"topic_name": "t", "rule": {"type": "above", "threshold": "inf"}},
        {"topic_name": "", "rule": {"type": "above", "threshold": 1}},
        {"topic_name": "t", "rule": {"type": "above", "threshold": 1}, "extra": 1},
    ],
    ids=["offline rule", "infinite", "no topic", "unknown key"],
)
def test_a_bound_that_is_not_a_threshold_rule_is_refused(bound):
    body = {"repo_uuid": "00000000-0000-0000-0000-000000000001", "target_kind": "Tag",
            "target_ref": "v1", "node_bounds": [bound],
            "stages": [{"size_kind": "Percent", "size_value": 100, "soak_seconds": 0,
                        "confirm_deadline_seconds": 1}]}  # fmt: skip
    with pytest.raises(ValidationError):
        RolloutCreate.model_validate(body)
