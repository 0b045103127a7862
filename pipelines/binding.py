"""The binding of a pipeline file to a unit node: `node: <uuid>`, or `unit:` plus `topic:`."""

from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.config import RuleViolationError
from pipelines.issues import ValidationIssue, issues_from_pydantic

BINDING_STAGE = "Binding"
BINDING_KEYS = ("node", "unit", "topic")
PIPELINE_TOPIC_SUFFIX = "/pepeunit"


class Binding(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            # A key given as null counts as absent, as in validation.
            "oneOf": [
                {
                    "required": ["node"],
                    "properties": {
                        "node": {"type": "string"},
                        "unit": {"type": "null"},
                        "topic": {"type": "null"},
                    },
                },
                {
                    "required": ["unit", "topic"],
                    "properties": {
                        "unit": {"type": "string"},
                        "topic": {"type": "string"},
                        "node": {"type": "null"},
                    },
                },
            ]
        },
    )

    node: UUID | None = Field(default=None, description="The uuid of the unit node.")
    unit: str | None = Field(default=None, min_length=1, description="The unit's name.")
    topic: str | None = Field(
        default=None,
        pattern=r"^.+/pepeunit$",
        description="The unit's output topic template, e.g. `current_temp/pepeunit`.",
    )

    @model_validator(mode="after")
    def _node_or_unit_topic(self) -> Self:
        if self.node is not None and (self.unit is not None or self.topic is not None):
            raise RuleViolationError(
                "node", "exclusive", "Bind to a node or to a unit topic, not both"
            )
        if self.node is None and self.unit is None and self.topic is None:
            raise RuleViolationError(
                "node",
                "missing",
                "Field required: bind the pipeline with 'node: <uuid>' or 'unit:' and 'topic:'",
            )
        if self.node is None and (self.unit is None or self.topic is None):
            missing = "unit" if self.unit is None else "topic"
            raise RuleViolationError(
                missing, "missing", "Field required: a unit binding needs both 'unit' and 'topic'"
            )
        return self

    @property
    def node_uuid(self) -> str | None:
        return str(self.node) if self.node is not None else None

    def describe(self) -> str:
        return f"node {self.node}" if self.node else f"unit {self.unit!r} topic {self.topic!r}"


def validate_binding(document: dict[str, Any]) -> tuple[Binding | None, list[ValidationIssue]]:
    keys = {key: document[key] for key in BINDING_KEYS if key in document}
    try:
        return Binding.model_validate(keys), []
    except ValidationError as error:
        return None, issues_from_pydantic(error, {}, BINDING_STAGE)
