"""Validation issues: what is wrong, where (stage and field) and which rule it breaks."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pipelines.alert_rules import AlertType
from pipelines.rule_violation import RuleViolationError

FILE_STAGE = "File"
"""Stage of problems with the file itself (unreadable, not YAML, not a mapping)."""

_UNION_MEMBER_TAGS = frozenset({"str", "int", "float"})
# pydantic puts the discriminator value of a tagged union member in the location: skip it.
_DISCRIMINATOR_TAGS = frozenset(AlertType)


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    stage: str
    """`ActivePeriod`, `Filters`, `Transformations`, `ProcessingPolicy`, `Binding` or `File`."""
    field: str
    message: str
    rule: str
    """A short machine-readable name of the broken rule, e.g. `missing`, `greater_than_equal`."""

    def __str__(self) -> str:
        return f"{self.stage}.{self.field}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {
            "stage": self.stage,
            "field": self.field,
            "message": self.message,
            "rule": self.rule,
        }


def _field_path(parts: Iterable[Any]) -> tuple[str, bool]:
    """The dotted path of a pydantic location, and whether it named a union member."""
    path = ""
    previous_was_index = False
    union_member = False
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _UNION_MEMBER_TAGS:
            union_member = True
            continue
        if previous_was_index and part in _DISCRIMINATOR_TAGS:
            continue
        path = f"{path}.{part}" if path else str(part)
        previous_was_index = False
    return path, union_member


def issues_from_pydantic(
    error: ValidationError, stage_of_key: dict[str, str], default_stage: str
) -> list[ValidationIssue]:
    """One issue per failing field or rule; `stage_of_key` maps a top-level key to its stage."""
    issues: list[ValidationIssue] = []
    seen: set[tuple[str, str]] = set()
    for detail in error.errors():
        location = detail["loc"]
        union_member = False
        if not location:
            stage, field = default_stage, "document"
        else:
            top = str(location[0])
            stage = stage_of_key.get(top, default_stage)
            field, union_member = _field_path(location[1:])
            field = field or top
        rule = detail["type"]
        message = detail["msg"]
        if union_member:
            # pydantic reports one error per member of a `str | int | float` item: report one.
            rule, message = "item_type", "Input should be a string or a number"
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, RuleViolationError):
            # Raised inside a list item, the rule's field is relative to that item.
            item = field if len(location) > 1 else ""
            field, rule = (f"{item}.{cause.field}" if item else cause.field), cause.rule
        if rule == "union_tag_invalid":
            message = f"type must be one of {detail.get('ctx', {}).get('expected_tags')}"
        if (stage, field) in seen:
            continue
        seen.add((stage, field))
        issues.append(ValidationIssue(stage, field, message, rule))
    return issues
