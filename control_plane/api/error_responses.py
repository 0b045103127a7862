"""The error responses each operation declares in the OpenAPI document.

Every error leaves the API as `ErrorBody` (see `errors`), so the document declares that body,
not FastAPI's default `HTTPValidationError`, for each status an operation can answer:

- 401 and 403 where the caller is identified (a token that names nobody valid, a blocked user
  or an agent of the wrong kind);
- 404 and 422 where the request carries input (an unknown uuid, a value out of bounds);
- 400 where the body is a form (an upload Starlette cannot parse);
- anything else (405 for a feature turned off, 429 for too soon, 503 for a data store out of
  reach: `STORE_ERRORS`) where the route says so, with `declared_errors(...)` in its decorator.

A route whose errors are not inferred so (the broker hook, which never fails) lists them in
`openapi_extra={ERROR_STATUSES_KEY: [...]}`.
"""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer carries."""

    model_config = ConfigDict(extra="forbid")

    detail: str = Field(
        description=(
            '"<status>: <code>: <Kind>: <message>", e.g. "404: 2: Validation Error: '
            "Unit 5f0c…: not found\" (the reference backend's shape, which its clients parse)"
        ),
    )


ERROR_DESCRIPTIONS = {
    400: "The body cannot be parsed (a malformed form or upload).",
    401: "The token names nobody valid (malformed, expired, signed elsewhere, or unknown).",
    403: "The caller is known but may not do this (another agent kind, not the owner, blocked).",
    404: "An object the request names does not exist (or is not visible to the caller).",
    405: "The feature this route serves is turned off on this instance.",
    422: "The request is invalid: a field of the wrong type, out of bounds, or not allowed.",
    429: "Asked again too soon; retry later.",
    503: "The data store (ClickHouse) cannot be reached now; retry later.",
}


def declared_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: the error body under each of `statuses`."""
    return {
        status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


STORE_ERRORS = declared_errors(503)
"""For routes that read or write ClickHouse (`services.store.StoreUnavailableError`)."""

ERROR_STATUSES_KEY = "x-error-statuses"
MULTIPART_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}


def inferred_error_statuses(operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation of the OpenAPI document can answer (see the module
    doc), from what it takes."""
    if ERROR_STATUSES_KEY in operation:
        return set(operation[ERROR_STATUSES_KEY])
    statuses: set[int] = set()
    if operation.get("security"):
        statuses |= {401, 403, 422}
    body = operation.get("requestBody", {}).get("content", {})
    if operation.get("parameters") or body:
        statuses |= {404, 422}
    if any(media_type in body for media_type in MULTIPART_TYPES):
        statuses.add(400)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_BODY_REF}},
    }


def declare_error_responses(document: dict[str, Any]) -> None:
    """Declares, in place, the error body for every error status each operation can answer,
    replacing FastAPI's `HTTPValidationError` (a body this API never sends). Idempotent."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status in sorted(inferred_error_statuses(operation)):
                responses[str(status)] = _error_response(status)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = {"application/json": {"schema": ERROR_BODY_REF}}


def install_error_responses(app: FastAPI) -> None:
    """Makes `app`'s OpenAPI document declare its real error responses."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        declare_error_responses(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
