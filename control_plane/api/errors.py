"""Every error leaves the API as `{"detail": "<status>: <code>: <Kind>: <message>"}`.

The text follows the reference backend (its frontend and scripts read it); the numeric codes
are the reference's error families. Services raise the `ApiError` subclasses below; request
validation errors and unexpected exceptions get the same shape from `install_error_handlers`.
"""

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("pepeunit.api")

INTERNAL_ERROR_DETAIL = "500: Internal Server Error"


class ApiError(Exception):
    status_code: ClassVar[int] = 422
    error_code: ClassVar[int] = 2
    kind: ClassVar[str] = "Validation Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def detail(self) -> str:
        return f"{self.status_code}: {self.error_code}: {self.kind}: {self.message}"


class NotAuthenticatedError(ApiError):
    """The token (or the credentials) do not identify anyone: bad, expired or unknown."""

    status_code = 401
    error_code = 1
    kind = "No Access"


class NoAccessError(ApiError):
    """The caller is known but may not do this (wrong agent type, not Admin, blocked)."""

    status_code = 403
    error_code = 1
    kind = "No Access"


class NotFoundError(ApiError):
    """The reference answers 422 "The object does not exist"; we answer 404 and name the
    object (`NotFoundError.of("Unit", uuid)`: "Unit <uuid>: not found")."""

    status_code = 404
    error_code = 2
    kind = "Validation Error"

    def __init__(self, message: str = "The object does not exist") -> None:
        super().__init__(message)

    @classmethod
    def of(cls, what: str, uuid: object) -> "NotFoundError":
        return cls(f"{what} {uuid}: not found")


class InputValidationError(ApiError):
    """Bad input (the reference's ValidationError; renamed to keep clear of pydantic's)."""

    status_code = 422
    error_code = 2
    kind = "Validation Error"


class BadRequestError(InputValidationError):
    """A body that cannot even be parsed (a malformed multipart upload)."""

    status_code = 400


class UserError(ApiError):
    error_code = 3
    kind = "User Validation Error"


class PermissionValidationError(ApiError):
    error_code = 4
    kind = "Permission Validation Error"


class GitRepoError(ApiError):
    error_code = 5
    kind = "Git Repo Validation Error"


class RepoError(ApiError):
    error_code = 6
    kind = "Repo Validation Error"


class UnitError(ApiError):
    error_code = 7
    kind = "Unit Validation Error"


class UnitNodeError(ApiError):
    error_code = 8
    kind = "UnitNode Validation Error"


class DataPipeError(ApiError):
    error_code = 8
    kind = "DataPipe Validation Error"


class JsonDecodeError(ApiError):
    error_code = 9
    kind = "JSON Decode Error"


class MqttError(ApiError):
    """The MQTT broker did not take a message the platform had to send."""

    error_code = 10
    kind = "MQTT Error"


class UpdateError(ApiError):
    error_code = 11
    kind = "Update Error"


class CipherError(ApiError):
    error_code = 12
    kind = "Cipher Error"


class RepositoryRegistryError(ApiError):
    error_code = 13
    kind = "Repository Registry Validation Error"


class GitPlatformClientError(ApiError):
    error_code = 14
    kind = "Git Platform Client Error"


class FeatureFlagError(ApiError):
    status_code = 405
    error_code = 15
    kind = "Feature Flag Error"

    def __init__(self, message: str = "This feature is disabled on this instance") -> None:
        super().__init__(message)


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


def _message(item: dict[str, Any]) -> str:
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


def describe_validation_errors(error: RequestValidationError) -> str:
    """`body.login: at most 20 characters (got 50); query.limit: …`"""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
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


async def _api_error_handler(_request: Request, error: ApiError) -> JSONResponse:
    return error_response(error.status_code, error.detail)


async def _validation_error_handler(
    _request: Request, error: RequestValidationError
) -> JSONResponse:
    json_error = describe_json_error(error)
    if json_error is not None:
        return error_response(422, JsonDecodeError(json_error).detail)
    return error_response(422, InputValidationError(describe_validation_errors(error)).detail)


async def _http_error_handler(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Routing errors (unknown path, wrong method) keep Starlette's text, e.g. "Not Found";
    a body FastAPI cannot parse (400) gets the API's shape and the parser's reason."""
    if error.status_code == 400:
        reason = f": {error.__cause__}" if error.__cause__ is not None else ""
        return error_response(400, BadRequestError(f"{error.detail}{reason}").detail)
    return error_response(error.status_code, str(error.detail), error.headers)


async def _unexpected_error_handler(request: Request, error: Exception) -> JSONResponse:
    # The server logs the traceback too: Starlette re-raises after this response is sent.
    logger.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path)
    return error_response(500, INTERNAL_ERROR_DETAIL)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
