"""What one GraphQL request may ask (docs/graphql.md#limits). Everything here is decided before
a resolver runs, so an abusive request costs parsing a bounded text and no more:

- the body: at most `MAX_BODY_BYTES` (a multipart upload: `PU_MAX_CSV_IMPORT_SIZE` more), or 413;
- the document: at most `MAX_QUERY_CHARACTERS` characters and `MAX_TOKENS` tokens (the parser
  stops there), `MAX_DEPTH` levels of selections, `MAX_ALIASES` aliases, and introspection
  nested no deeper than graphql-core allows (`MaxIntrospectionDepthRule`);
- lists, in the variables and in the document: none longer than `PU_MAX_PAGINATION_SIZE`;
- batching (a JSON array of operations) stays off: Strawberry answers it 400;
- introspection only with `PU_GRAPHQL_INTROSPECTION` (on by default).
"""

from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError, ListValueNode, ValidationRule, validate
from graphql.validation.rules.max_introspection_depth_rule import MaxIntrospectionDepthRule
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from pepeunit_core.settings import Settings

MAX_DEPTH = 10
"""Selections nested in selections; 1.x's deepest field (a unit's nodes in a list) needs 3."""
MAX_ALIASES = 50
MAX_TOKENS = 2_000
"""A full introspection query has about 200. graphql-core's parser takes ~15 µs a token,
so a refused document costs at most ~30 ms of parsing."""
MAX_QUERY_CHARACTERS = 100_000
"""Checked before parsing; large values belong in variables."""
MAX_BODY_BYTES = 8 * 1024 * 1024
"""Room for the largest variable a mutation takes (an env of `PU_MAX_CIPHER_LENGTH` characters,
JSON-escaped)."""


def _longest_list(value: Any, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        return 0
    if isinstance(value, list):
        inner = max((_longest_list(item, depth + 1) for item in value), default=0)
        return max(len(value), inner)
    if isinstance(value, dict):
        return max((_longest_list(item, depth + 1) for item in value.values()), default=0)
    return 0


def list_size_rule(max_items: int) -> type[ValidationRule]:
    class ListSizeRule(ValidationRule):
        """No list literal in the document longer than `max_items`."""

        def enter_list_value(self, node: ListValueNode, *_: object) -> None:
            if len(node.values) > max_items:
                message = f"A list holds {len(node.values)} items. Allowed: {max_items}"
                self.report_error(GraphQLError(message, node))

    return ListSizeRule


def _limit_rules(max_list_items: int) -> tuple[type[ValidationRule], ...]:
    return (
        aliases_validator(MAX_ALIASES),
        depth_validator(MAX_DEPTH, None),
        MaxIntrospectionDepthRule,
        list_size_rule(max_list_items),
    )


class RequestLimits(SchemaExtension):
    """Checks the limits before the standard validation, and alone: graphql-core's rule for
    overlapping fields compares every pair of same-named fields, which takes seconds on a
    thousand aliases. An error set here makes Strawberry skip validation and answer it."""

    def __init__(self, max_list_items: int, rules: tuple[type[ValidationRule], ...]) -> None:
        self.max_list_items = max_list_items
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        length = len(self.execution_context.query or "")
        if length > MAX_QUERY_CHARACTERS:
            # Parsing would stop at the token limit, but its error shows where, and finding
            # the line of a position costs a pass over the whole text.
            raise GraphQLError(
                f"The query has {length} characters. Allowed: {MAX_QUERY_CHARACTERS}"
            )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        errors = self._variable_errors()
        if not errors and context.graphql_document is not None:
            errors = validate(context.schema._schema, context.graphql_document, self.rules)
        if errors:
            context.pre_execution_errors = list(errors)
        yield

    def _variable_errors(self) -> list[GraphQLError]:
        longest = _longest_list(self.execution_context.variables or {})
        if longest <= self.max_list_items:
            return []
        message = f"A list variable holds {longest} items. Allowed: {self.max_list_items}"
        return [GraphQLError(message)]


ExtensionFactory = Callable[[], SchemaExtension]


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Factories: Strawberry builds the extensions afresh for each operation."""
    max_list_items = settings.max_pagination_size
    rules = _limit_rules(max_list_items)
    factories: list[ExtensionFactory] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: RequestLimits(max_list_items, rules),
    ]
    if not settings.graphql_introspection:
        factories.append(DisableIntrospection)
    return factories


class _BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: a request to `path` whose body is larger than its bound is answered 413
    before the body is read whole (by its Content-Length, or once the bytes received pass it)."""

    def __init__(self, app: ASGIApp, path: str, settings: Settings) -> None:
        self.app = app
        self.path = path
        self.multipart_max_bytes = MAX_BODY_BYTES + settings.max_csv_import_size * 1024 * 1024

    def max_bytes(self, scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and value.lower().startswith(b"multipart/"):
                return self.multipart_max_bytes
        return MAX_BODY_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        received = 0
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLargeError:
            if response_started:
                raise
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"The request body is larger than {limit} bytes"}, 413)
