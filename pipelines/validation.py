"""Validation of a reference pipeline config (the four stages, no binding)."""

from typing import Any

from pydantic import ValidationError

from pipelines.config import (
    DEFAULT_MAX_PAYLOAD_SIZE,
    MAX_PAYLOAD_SIZE_CONTEXT_KEY,
    PipelineConfig,
)
from pipelines.issues import FILE_STAGE, ValidationIssue, issues_from_pydantic


def validate_config(
    document: Any, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE
) -> tuple[PipelineConfig | None, list[ValidationIssue]]:
    """Returns the config, or None and every issue found (one per failing field or rule)."""
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "empty"
        issue = ValidationIssue(
            FILE_STAGE, "document", f"A pipeline must be a mapping of sections, got {kind}", "type"
        )
        return None, [issue]
    try:
        config = PipelineConfig.model_validate(
            document, context={MAX_PAYLOAD_SIZE_CONTEXT_KEY: max_payload_size}
        )
    except ValidationError as error:
        return None, issues_from_pydantic(error, PipelineConfig.SECTIONS, FILE_STAGE)
    return config, []
