"""Every error leaves the API as `{"detail": "<status>: <code>: <Kind>: <message>"}`.

The text follows the reference backend (its frontend and scripts read it); the numeric codes
are the reference's error families. Services raise the refusals of
`control_plane.services.errors`, knowing nothing of HTTP; `ERROR_FAMILIES` below is the one
place that gives each its status, code and kind. Request validation errors and unexpected
exceptions get the same shape from `install_error_handlers`.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from control_plane.services.errors import (
    BadRequestError,
    CipherError,
    DataPipeError,
    FeatureFlagError,
    GitPlatformClientError,
    GitRepoError,
    GitTransfersBusyError,
    GrafanaError,
    InputValidationError,
    JsonDecodeError,
    MqttError,
    NoAccessError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionValidationError,
    RegistryBusyError,
    RepoError,
    RepositoryRegistryError,
    RolloutError,
    ServiceError,
    StoreUnavailableError,
    UnitError,
    UnitNodeError,
    UpdateError,
    UserError,
)

logger = logging.getLogger("pepeunit.api")

INTERNAL_ERROR_DETAIL = "500: Internal Server Error"


@dataclass(frozen=True)
class ErrorFamily:
    """How a refusal leaves the API: its status and the reference's error family."""

    status_code: int
    error_code: int
    kind: str


VALIDATION = ErrorFamily(422, 2, "Validation Error")

# A refusal takes the entry of its nearest class here (a subclass inherits its parent's).
# The reference answers 422 "The object does not exist"; we answer 404 and name the object.
ERROR_FAMILIES: dict[type[ServiceError], ErrorFamily] = {
    ServiceError: VALIDATION,
    NotAuthenticatedError: ErrorFamily(401, 1, "No Access"),
    NoAccessError: ErrorFamily(403, 1, "No Access"),
    NotFoundError: ErrorFamily(404, 2, "Validation Error"),
    InputValidationError: VALIDATION,
    BadRequestError: ErrorFamily(400, 2, "Validation Error"),
    UserError: ErrorFamily(422, 3, "User Validation Error"),
    PermissionValidationError: ErrorFamily(422, 4, "Permission Validation Error"),
    GitRepoError: ErrorFamily(422, 5, "Git Repo Validation Error"),
    RepoError: ErrorFamily(422, 6, "Repo Validation Error"),
    UnitError: ErrorFamily(422, 7, "Unit Validation Error"),
    UnitNodeError: ErrorFamily(422, 8, "UnitNode Validation Error"),
    DataPipeError: ErrorFamily(422, 8, "DataPipe Validation Error"),
    JsonDecodeError: ErrorFamily(422, 9, "JSON Decode Error"),
    MqttError: ErrorFamily(422, 10, "MQTT Error"),
    UpdateError: ErrorFamily(422, 11, "Update Error"),
    CipherError: ErrorFamily(422, 12, "Cipher Error"),
    RepositoryRegistryError: ErrorFamily(422, 13, "Repository Registry Validation Error"),
    RegistryBusyError: ErrorFamily(429, 13, "Repository Registry Validation Error"),
    GitTransfersBusyError: ErrorFamily(503, 13, "Repository Registry Validation Error"),
    GitPlatformClientError: ErrorFamily(422, 14, "Git Platform Client Error"),
    GrafanaError: ErrorFamily(422, 14, "Grafana Validation Error"),
    FeatureFlagError: ErrorFamily(405, 15, "Feature Flag Error"),
    StoreUnavailableError: ErrorFamily(503, 16, "Store Unavailable"),
    RolloutError: ErrorFamily(422, 17, "Rollout Validation Error"),
}


def error_family(error: ServiceError) -> ErrorFamily:
    for cls in type(error).__mro__:
        family = ERROR_FAMILIES.get(cls)
        if family is not None:
            return family
    return VALIDATION  # unreachable: every refusal is a ServiceError


def error_detail(error: ServiceError) -> str:
    """`"<status>: <code>: <Kind>: <message>"`"""
    family = error_family(error)
    return f"{family.status_code}: {family.error_code}: {family.kind}: {error.message}"


def error_response(
    status_code: int, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


_LENGTH_ERRORS = {
    "string_too_long": "at most",
    "too_long": "at most",
    "string_too_short": "at least",
    "too_short": "at least",
}


def _message(item: Mapping[str, Any]) -> str:
    """pydantic's message, but with the limit and the unit for a length error: a string
    refused by a constraint after a custom validator reads "Value should have at most 65536
    items" in pydantic."""
    bound = _LENGTH_ERRORS.get(item.get("type", ""))
    context = item.get("ctx") or {}
    limit = context.get("max_length" if bound == "at most" else "min_length")
    if bound is None or limit is None:
        return str(item.get("msg", "invalid value"))
    value = item.get("input")
    unit = "characters" if isinstance(value, str) else "items"
    got = f" (got {len(value)})" if isinstance(value, (str, list, dict)) else ""
    return f"{bound} {limit} {unit}{got}"


def describe_validation_errors(
    errors: Sequence[Mapping[str, Any]], location_prefix: tuple[str, ...] = ()
) -> str:
    """`body.login: at most 20 characters (got 50); query.limit: …` for pydantic's (or
    FastAPI's) list of errors; `location_prefix` goes before each error's location."""
    parts = []
    for item in errors:
        location = ".".join(str(part) for part in (*location_prefix, *item.get("loc", ())))
        message = _message(item)
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def describe_json_error(error: RequestValidationError) -> str | None:
    """Where and what, for a body that is not JSON: `body: Expecting ',' delimiter at line 2,
    column 13`; None for other validation errors."""
    for item in error.errors():
        if item.get("type") != "json_invalid":
            continue
        reason = (item.get("ctx") or {}).get("error", "not JSON")
        position = item.get("loc", ("body", 0))[-1]
        document = error.body if isinstance(error.body, str) else ""
        if not isinstance(position, int) or not document:
            return f"body: {reason} (the body is not JSON)"
        line = document.count("\n", 0, position) + 1
        column = position - (document.rfind("\n", 0, position) + 1) + 1
        return f"body: {reason} at line {line}, column {column} (character {position + 1})"
    return None


async def _service_error_handler(_request: Request, error: ServiceError) -> JSONResponse:
    return error_response(error_family(error).status_code, error_detail(error))


async def _validation_error_handler(
    _request: Request, error: RequestValidationError
) -> JSONResponse:
    json_error = describe_json_error(error)
    if json_error is not None:
        return error_response(422, error_detail(JsonDecodeError(json_error)))
    return error_response(
        422, error_detail(InputValidationError(describe_validation_errors(error.errors())))
    )


async def _http_error_handler(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Routing errors (unknown path, wrong method) keep Starlette's text, e.g. "Not Found";
    a body FastAPI cannot parse (400) gets the API's shape and the parser's reason."""
    if error.status_code == 400:
        reason = f": {error.__cause__}" if error.__cause__ is not None else ""
        return error_response(400, error_detail(BadRequestError(f"{error.detail}{reason}")))
    return error_response(error.status_code, str(error.detail), error.headers)


async def _unexpected_error_handler(request: Request, error: Exception) -> JSONResponse:
    # The server logs the traceback too: Starlette re-raises after this response is sent.
    logger.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path)
    return error_response(500, INTERNAL_ERROR_DETAIL)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
