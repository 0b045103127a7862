"""Small builders for engine tests: a pipeline from partial sections, and a UTC clock."""

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.engine import NodeMemory, Pipeline
from pipelines.validation import validate_config

NODE = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_pipeline(
    filters: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    transformations: dict[str, Any] | None = None,
    active_period: dict[str, Any] | None = None,
    node: str = NODE,
) -> Pipeline:
    document = {
        "active_period": active_period or {"type": "Permanent"},
        "filters": {"type_input_value": "Text", "max_rate": 0, "max_size": 0, **(filters or {})},
        "transformations": transformations,
        "processing_policy": policy or {"policy_type": "LastValue"},
    }
    config, issues = validate_config(document)
    assert config is not None, issues
    return Pipeline(node, config)


def run(pipeline: Pipeline, messages: list[tuple[float, str]], memory: NodeMemory | None = None):
    """Processes (seconds after T0, payload) pairs; returns (memory, results)."""
    memory = memory or NodeMemory()
    results = [pipeline.process(memory, payload, at(seconds)) for seconds, payload in messages]
    return memory, results


def accepted_payloads(pipeline: Pipeline, messages: list[tuple[float, str]]) -> list[str]:
    _, results = run(pipeline, messages)
    return [
        payload for (_, payload), result in zip(messages, results, strict=True) if result.accepted
    ]
