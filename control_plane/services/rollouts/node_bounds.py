"""The optional value gate of a rollout: a node's value must stay within bounds written as the
pipeline language's threshold alert rules (docs/pipelines.md#alerts), per node topic name. Pure:
the driver passes each node's newest value."""

from collections.abc import Mapping, Sequence

from pydantic import TypeAdapter

from control_plane.models.rollout import NodeBound
from pipelines.alerting import threshold_crossed
from pipelines.numbers import parse_finite_float

NODE_BOUNDS = TypeAdapter(list[NodeBound])


def bounds_violation(bounds: Sequence[NodeBound], values: Mapping[str, str]) -> str | None:
    """Why a value (by topic name) is out of bounds, or None; a value that is not a number is
    not judged."""
    for bound in bounds:
        text = values.get(bound.topic_name)
        number = parse_finite_float(text) if text is not None else None
        if number is not None and threshold_crossed(bound.rule, number):
            return f"{bound.topic_name} is {text}: {bound.rule.label}"
    return None
