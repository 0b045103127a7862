"""Staged, health-gated firmware rollouts (docs/api.md#rollouts): the pure decisions
(`stage_plan`, `decisions`, `transitions`) apart from the driver that applies them."""
