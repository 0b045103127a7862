"""Keys a pipeline section does not have. The reference ignores them; in a file kept in git a
misspelled key (`last_uniqe_check`) would silently fall back to a default, so files refuse them
and name the closest valid key."""

import difflib
from typing import Any

from pydantic import BaseModel

from pipelines.config import (
    ActivePeriod,
    Filters,
    PipelineConfig,
    ProcessingPolicy,
    Transformations,
)
from pipelines.issues import ValidationIssue

UNKNOWN_KEY_RULE = "unknown_key"

_MODEL_OF_SECTION: dict[str, type[BaseModel]] = {
    "active_period": ActivePeriod,
    "filters": Filters,
    "transformations": Transformations,
    "processing_policy": ProcessingPolicy,
}
# `alerts` refuses unknown keys by itself (its rules forbid extra fields).


def unknown_section_keys(document: dict[str, Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for section, model in _MODEL_OF_SECTION.items():
        values = document.get(section)
        if not isinstance(values, dict):
            continue
        known = list(model.model_fields)
        for key in values:
            if str(key) in known:
                continue
            closest = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {closest[0]!r}?" if closest else f"valid keys: {known}"
            message = f"{PipelineConfig.SECTIONS[section]} has no key {str(key)!r}; {hint}"
            issues.append(
                ValidationIssue(
                    PipelineConfig.SECTIONS[section], str(key), message, UNKNOWN_KEY_RULE
                )
            )
    return issues
