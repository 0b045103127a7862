"""Bad input on every route, over HTTP on SQLite and PostgreSQL: never a 5xx, always a 4xx with
a detail (the conftest hook checks the shape), with the exact status where one is right, and
nothing stored changed by a refused request.

Each route starts from a request that succeeds (the first row of test_access_matrix.py's table
for it, sent by an actor allowed there), and every mutation changes one thing of it, so the
request reaches as far into the handler as that one thing lets it. What to change comes from
the app's OpenAPI description of the route:

- path, query and JSON body fields get values of the wrong type (422), values past the declared
  bounds (422), unknown uuids (404 for what the route acts on, see `EXTRAS`) and values that
  are valid for the schema but nasty: 1 MB strings, NUL, `../`, `%2e%2e%2f`, `/`, huge and
  negative integers, dates at the ends of the calendar. Those must be refused (4xx) unless
  `EXTRAS` says the field takes them (then the request must succeed as the original did);
- path segments also get encoded `../`, `..` and `/`, NUL and 5000-character values (a raw
  `..` never reaches the server: httpx resolves it, as browsers do);
- JSON bodies are malformed, truncated, not UTF-8, not objects, nested 100 000 deep, or sent as
  text/plain or a form; uploads are missing, misnamed, oversized, not UTF-8, not YAML/CSV;
- routes without a body get a malformed JSON body on their original request, which must still
  succeed (the body is ignored).

A fingerprint of the SQL database and the ClickHouse tables, taken before and after the refused
mutations of a route, must not change. `test_every_route_is_covered` fails when a route has no
row in the access matrix (which is where the requests come from) or an uuid field has no
declared unknown-uuid status.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from control_plane.services.nodes.pipelines import MAX_CONFIG_BYTES
from pepeunit_core.db.models import Base, Unit
from pepeunit_core.settings import Settings

from .conftest import BACKENDS, PASSWORD
from .test_access_matrix import (
    API,
    ROWS,
    Row,
    World,
    build_world,
    fill,
    served_routes,
    wait_for_background_work,
)

MB = 1024 * 1024
TEXT = frozenset({"dotdot", "encoded", "slash", "empty", "unicode"})
"""Free text that may hold anything printable (search strings, states, passwords)."""
CLICKHOUSE_TABLES = ("n_last_entry", "window_entry", "aggregation_entry", "unit_logs")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with build_world(request, tmp_path_factory.mktemp("bad-input")) as built:
        yield built


# --- what each route takes, besides its schema ------------------------------------------------


@dataclass(frozen=True)
class Extra:
    unknown: dict[str, int] = field(default_factory=dict)
    """Status for an unknown uuid in each uuid field other than `path.uuid` (default 404)."""
    accepts: dict[str, frozenset[str]] = field(default_factory=dict)
    """Nasty-but-valid values (by kind) a field legitimately takes: the request succeeds."""
    restore: Callable[[World], None] | None = None
    """Undo what the accepted values did, where later tests depend on it."""


LIST = {"query.offset": frozenset({"billion", "zero"}), "query.limit": frozenset({"zero"})}
"""Pagination: any offset up to 2**31 - 1 and a zero limit are fine."""
SEARCH = {"query.search_string": TEXT}


def listing(*uuid_fields: str) -> Extra:
    """A list route: unknown uuids in filters just match nothing."""
    return Extra(unknown=dict.fromkeys(uuid_fields, 200), accepts=LIST | SEARCH)


CREDENTIAL = frozenset({"dotdot", "encoded", "slash"})
"""A username or token is any printable text."""
UNUSED_UNIT_FIELDS = dict.fromkeys(("body.repo_branch", "body.target_firmware_platform"), TEXT)
"""Kept, unchecked, while the unit follows its repo (auto mode) of an interpretable repo: the
branch counts only in manual mode, the platform only for compilable repos."""


def restore_unit(world: World) -> None:
    with world.session() as session:
        unit = session.get_one(Unit, world.uuid("unit_private"))
        unit.repo_branch = unit.target_firmware_platform = None
        session.commit()


def restore_password(world: World) -> None:
    body = {"password": PASSWORD}
    response = world.client.patch(
        f"{API}/users/{world.ids['owner']}", json=body, headers=world.headers["owner"]
    )
    assert response.status_code == 200, response.text


EXTRAS: dict[str, Extra] = {
    "GET /users": listing("query.uuids"),
    "PATCH /users/{uuid}": Extra(
        unknown={"path.uuid": 403},  # only yourself; whether someone else exists is not said
        accepts={"body.password": TEXT - {"empty", "slash"}},
        restore=restore_password,
    ),
    "POST /users": Extra(accepts={"body.password": TEXT - {"empty", "slash"}}),
    "GET /repository_registry": listing("query.uuids", "query.creator_uuid"),
    "GET /repos": listing(
        "query.repository_registry_uuid",
        "query.uuids",
        "query.creator_uuid",
        "query.creators_uuids",
    ),
    "GET /units": listing(
        "query.uuids",
        "query.creator_uuid",
        "query.repo_uuid",
        "query.repos_uuids",
        "query.unit_node_uuids",
        "query.unit_node_input_uuid",
    ),
    "GET /unit_nodes": listing(
        "query.uuids", "query.unit_node_uuids", "query.unit_uuid", "query.output_uuid"
    ),
    "GET /units/log_list/": Extra(unknown={"query.uuid": 404}, accepts=LIST),
    "GET /permission/get_resource_agents": Extra(
        unknown={"query.resource_uuid": 404}, accepts=LIST
    ),
    "POST /permission": Extra(unknown={"body.agent_uuid": 422, "body.resource_uuid": 404}),
    "DELETE /permission/{uuid}": Extra(
        unknown={"query.agent_uuid": 404, "query.resource_uuid": 404}
    ),
    "GET /repository_registry/branch_commits/{uuid}": Extra(accepts=LIST),
    "PATCH /repository_registry/set_credentials/{uuid}": Extra(
        accepts=dict.fromkeys(("body.username", "body.pat_token"), CREDENTIAL)
    ),
    "POST /repos": Extra(unknown={"body.repository_registry_uuid": 404}),
    "GET /repos/available_platforms/{uuid}": Extra(accepts={"query.target_tag": TEXT}),
    "POST /units": Extra(unknown={"body.repo_uuid": 404}, accepts=UNUSED_UNIT_FIELDS),
    "PATCH /units/{uuid}": Extra(accepts=UNUSED_UNIT_FIELDS, restore=restore_unit),
    "PATCH /unit_nodes/{uuid}": Extra(accepts={"body.max_connections": frozenset({"billion"})}),
    "POST /unit_nodes/create_unit_node_edge": Extra(
        unknown={"body.node_output_uuid": 404, "body.node_input_uuid": 404}
    ),
    "DELETE /unit_nodes/delete_unit_node_edge": Extra(
        unknown={"query.input_uuid": 404, "query.output_uuid": 404}
    ),
    "POST /unit_nodes/set_data_pipe_config": Extra(unknown={"query.uuid": 404}),
    "GET /units/firmware/{archive_format}/{uuid}": Extra(
        accepts={"query.level": frozenset({"negative", "zero"})}  # zlib's default, and none
    ),
    "GET /unit_nodes/get_data_pipe_data/": Extra(
        unknown={"query.uuid": 404},
        accepts=LIST
        | SEARCH
        | {"query.time_window_size": frozenset({"huge", "int64", "billion", "zero"})}
        | dict.fromkeys(
            (
                "query.start_agg_window_datetime",
                "query.end_agg_window_datetime",
                "query.start_create_datetime",
                "query.end_create_datetime",
            ),
            frozenset({"far_future", "far_past", "naive"}),
        ),
    ),
    "POST /unit_nodes/set_data_pipe_data_csv": Extra(unknown={"query.uuid": 404}),
    "POST /units/set_state_storage/{uuid}": Extra(accepts={"body.state": TEXT | {"nul"}}),
    # Any UTF-8 text is a valid MQTT client id; only the platform's own ids are kept back.
    "POST /units/auth": Extra(accepts={"body.clientid": TEXT}),
    "PATCH /unit_nodes/set_state_input/{uuid}": Extra(accepts={"body.state": TEXT}),
    "POST /grafana/create_dashboard_panel": Extra(unknown={"body.dashboard_uuid": 404}),
    "POST /grafana/link_unit_node_to_panel": Extra(
        unknown={"body.unit_node_uuid": 404, "body.dashboard_panels_uuid": 404}
    ),
    "POST /rollouts": Extra(
        unknown={"body.repo_uuid": 404, "body.unit_uuids[]": 404},
        accepts={
            "body.stages[].soak_seconds": frozenset({"zero"}),
            "body.stages[].max_error_log_increase": frozenset({"zero", "billion"}),
            "body.stages[].max_rejection_increase": frozenset({"zero", "billion"}),
        },
    ),
    "GET /rollouts": listing("query.repo_uuid"),
    "GET /grafana/get_dashboards": listing(),
    "POST /grafana/sync_dashboard": Extra(unknown={"query.uuid": 404}),
    "DELETE /grafana/delete_link/{uuid}": Extra(
        unknown={"query.unit_node_uuid": 404, "query.dashboard_panel_uuid": 404}
    ),
}


def route_key(item: Row) -> str:
    return f"{item.method} {item.route.removeprefix(API)}"


def _first_rows() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for item in ROWS:
        rows.setdefault(route_key(item), item)
    return rows


BASES = _first_rows()


def actor_of(item: Row) -> str:
    return "owner" if "owner" in item.ok else sorted(item.ok)[0]


# --- requests and their mutations -------------------------------------------------------------

NO_BODY = object()


@dataclass(frozen=True)
class Request:
    method: str
    segments: tuple[str, ...]
    params: dict[str, Any]
    json: Any = NO_BODY
    content: bytes | None = None
    content_type: str | None = None
    files: dict[str, Any] | None = None

    def send(self, world: World, headers: dict[str, str]) -> httpx.Response:
        options: dict[str, Any] = {"params": self.params, "headers": dict(headers)}
        if self.json is not NO_BODY:
            options["json"] = self.json
        if self.content is not None:
            options["content"] = self.content
        if self.content_type is not None:
            options["headers"]["content-type"] = self.content_type
        if self.files is not None:
            options["files"] = self.files
        return world.client.request(self.method, "/".join(self.segments), **options)

    def with_segment(self, index: int, value: str) -> "Request":
        return replace(self, segments=(*self.segments[:index], value, *self.segments[index + 1 :]))

    def with_param(self, name: str, value: Any) -> "Request":
        return replace(self, params={**self.params, name: value})

    def with_raw_body(self, content: bytes, content_type: str = "application/json") -> "Request":
        return replace(self, json=NO_BODY, files=None, content=content, content_type=content_type)


@dataclass(frozen=True)
class Mutation:
    field: str
    """`path.uuid`, `query.limit`, `body.credentials.username`, `body`, `upload`…"""
    kind: str
    """What was done to it: `type`, `bound`, `unknown`, `nul`, `mb`, `malformed`…"""
    request: Request
    expect: str
    """`422`, `404`…: that status; `4xx`: any refusal; `ok`: the original request's status;
    `issues`: 200 with a non-empty list of config issues; `deny` / `allow`: 200 with that
    `result` (the broker hook)."""

    @property
    def label(self) -> str:
        return f"{self.field}={self.kind}"


class Schemas:
    """Request schemas of the app's OpenAPI description, references and Optional resolved."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        self.components = openapi.get("components", {}).get("schemas", {})

    def operation(self, method: str, path: str) -> dict[str, Any]:
        return self.openapi["paths"][path][method.lower()]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in schema:
                schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
            elif "anyOf" in schema:
                options = [option for option in schema["anyOf"] if option.get("type") != "null"]
                if len(options) != 1:
                    return {"type": "union"}
                schema = options[0]
            else:
                return schema


def kind_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    match schema.get("type"), schema.get("format"):
        case "string", "uuid":
            return "uuid"
        case "string", "date-time":
            return "datetime"
        case "string", "binary":
            return "file"
        case (kind, _):
            return str(kind)


def _violates(schema: dict[str, Any], value: Any) -> bool:
    """Whether the schema's declared constraints refuse `value` (of the right type)."""
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            return True
        if len(value) < schema.get("minLength", 0):
            return True
        pattern = schema.get("pattern")
        return pattern is not None and re.search(pattern, value) is None
    if isinstance(value, int):
        return not schema.get("minimum", value) <= value <= schema.get("maximum", value)
    return False


NASTY_TEXT = {
    "mb": "x" * MB,  # in a query string: MAX_QUERY_TEXT
    "nul": "a\x00b",
    "dotdot": "../../etc/passwd",
    "encoded": "%2e%2e%2f",
    "slash": "a/b",
    "empty": "",
    "unicode": "\u202eünï \U0001f600",
}
MAX_QUERY_TEXT = 60_000
"""httpx sends no longer query string (and servers take less)."""
NASTY_INT = {
    "huge": 10**30,
    "negative_huge": -(10**30),
    "int64": 2**63,
    "billion": 10**9,
    "negative": -1,
    "zero": 0,
}
NASTY_DATETIME = {
    "far_future": "9999-12-31T23:59:59-12:00",
    "far_past": "0001-01-01T00:00:00+14:00",
    "naive": "2024-01-01T00:00:00",
}


def field_values(schema: dict[str, Any], *, in_json: bool) -> Iterator[tuple[str, Any, str]]:
    """(kind, value, class) for one field: class `type` and `bound` are refused by validation
    (422), `unknown` names nothing, `nasty` is valid for the schema."""
    kind = kind_of(schema)
    wrong_json: list[Any] = [[], {}] if in_json else []
    match kind:
        case "uuid":
            for value in ["not-a-uuid", "1234", "../../etc/passwd", *wrong_json]:
                yield "type", value, "type"
            if in_json:
                yield "type", 12345, "type"
            yield "unknown", str(uuid4()), "unknown"
            yield "nil", "00000000-0000-0000-0000-000000000000", "unknown"
        case "datetime":
            for value in ["not-a-date", "2024-02-30T10:00:00Z", *wrong_json]:
                yield "type", value, "type"
            for name, value in NASTY_DATETIME.items():
                yield name, value, "nasty"
        case "enum":
            for value in ["NoSuchValue", "../", *([1, []] if in_json else [])]:
                yield "type", value, "type"
        case "integer":
            for value in ["x", "1.5", "0x10"] if not in_json else ["x", 1.5, [], {}]:
                yield "type", value, "type"
            for name, value in NASTY_INT.items():
                number = value if in_json else str(value)
                yield name, number, "bound" if _violates(schema, value) else "nasty"
        case "boolean":
            for value in ["maybe", "2"] if not in_json else ["maybe", 2, []]:
                yield "type", value, "type"
        case "string":
            for value in [123, True, *wrong_json] if in_json else []:
                yield "type", value, "type"
            for name, value in NASTY_TEXT.items():
                if name == "mb" and not in_json:
                    value = value[:MAX_QUERY_TEXT]
                yield name, value, "bound" if _violates(schema, value) else "nasty"
        case "object":
            for value in [[], "x", 1]:
                yield "type", value, "type"
        case "union":  # `str | int`: only what is neither
            for value in wrong_json:
                yield "type", value, "type"
        case _:
            raise AssertionError(f"no bad values for a {kind} field: {schema}")


def _expect(extra: Extra, name: str, kind: str, value_class: str) -> str:
    if value_class in ("type", "bound"):
        return "422"
    if value_class == "unknown":
        if name not in extra.unknown and name != "path.uuid":
            raise AssertionError(f"declare the status for an unknown uuid in {name} (EXTRAS)")
        return str(extra.unknown.get(name, 404))
    return "ok" if kind in extra.accepts.get(name, frozenset()) else "4xx"


PATH_TRICKS = {
    # (segment, expected when the parameter is read, when it is not)
    "encoded_dotdot": ("%2e%2e%2fetc%2fpasswd", "4xx", "4xx"),  # another route, or none
    "encoded_slash": ("a%2Fb", "4xx", "4xx"),
    "encoded_dots": ("%2e%2e", "422", "ok"),
    "encoded_nul": ("a%00b", "422", "ok"),
    "long": ("x" * 5000, "422", "ok"),
}


def path_mutations(
    schemas: Schemas, template: str, base: Request, extra: Extra
) -> Iterator[Mutation]:
    operation = schemas.operation(base.method, template)
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
    for index, segment in enumerate(template.split("/")):
        if not (segment.startswith("{") and segment.endswith("}")):
            continue
        name = f"path.{segment[1:-1]}"
        schema = schemas.resolve(parameters[segment[1:-1]]["schema"])
        kind = kind_of(schema)
        ignored = kind == "string"  # DELETE /permission/{uuid}: the segment is not read
        for trick, (value, read, not_read) in PATH_TRICKS.items():
            yield Mutation(
                name, trick, base.with_segment(index, value), not_read if ignored else read
            )
        if kind == "uuid":
            for value_kind, value, value_class in field_values(schema, in_json=False):
                expect = _expect(extra, name, value_kind, value_class)
                if "/" in value:  # then it is another path
                    expect = "4xx"
                yield Mutation(name, value_kind, base.with_segment(index, str(value)), expect)
        elif kind == "enum":
            for value in ("exe", "ZIP", "zip%00", "zip.exe"):
                yield Mutation(name, "type", base.with_segment(index, value), "422")
        elif ignored:
            yield Mutation(name, "unknown", base.with_segment(index, str(uuid4())), "ok")
        else:
            raise AssertionError(f"no bad values for path parameter {name}: {schema}")


def query_mutations(
    schemas: Schemas, template: str, base: Request, extra: Extra
) -> Iterator[Mutation]:
    operation = schemas.operation(base.method, template)
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name, key = f"query.{parameter['name']}", parameter["name"]
        schema = schemas.resolve(parameter["schema"])
        if kind_of(schema) == "array":
            items = schemas.resolve(schema["items"])
            for value_kind, value, value_class in field_values(items, in_json=False):
                expect = _expect(extra, name, value_kind, value_class)
                yield Mutation(name, value_kind, base.with_param(key, [value]), expect)
            if "maxItems" in schema:
                too_many = [str(uuid4()) for _ in range(schema["maxItems"] + 1)]
                yield Mutation(name, "bound", base.with_param(key, too_many), "422")
            continue
        for value_kind, value, value_class in field_values(schema, in_json=False):
            expect = _expect(extra, name, value_kind, value_class)
            yield Mutation(name, value_kind, base.with_param(key, value), expect)
        if parameter.get("required"):
            params = {other: value for other, value in base.params.items() if other != key}
            yield Mutation(name, "missing", replace(base, params=params), "422")


def _with_field(body: Any, keys: tuple[str, ...], value: Any) -> Any:
    if not keys:
        return value
    current = dict(body) if isinstance(body, dict) else {}
    current[keys[0]] = _with_field(current.get(keys[0]), keys[1:], value)
    return current


def json_field_mutations(
    schemas: Schemas, schema: dict[str, Any], base: Request, extra: Extra, keys: tuple[str, ...]
) -> Iterator[Mutation]:
    for key, property_schema in schema.get("properties", {}).items():
        path = (*keys, key)
        name = "body." + ".".join(path)
        resolved = schemas.resolve(property_schema)
        if kind_of(resolved) == "object":
            yield from json_field_mutations(schemas, resolved, base, extra, path)
        if kind_of(resolved) == "array":
            yield from json_array_mutations(schemas, resolved, base, extra, path)
            continue
        for value_kind, value, value_class in field_values(resolved, in_json=True):
            request = replace(base, json=_with_field(base.json, path, value))
            yield Mutation(name, value_kind, request, _expect(extra, name, value_kind, value_class))
        if not keys and key in schema.get("required", []):
            body = {other: value for other, value in base.json.items() if other != key}
            yield Mutation(name, "missing", replace(base, json=body), "422")


def json_array_mutations(
    schemas: Schemas, schema: dict[str, Any], base: Request, extra: Extra, path: tuple[str, ...]
) -> Iterator[Mutation]:
    """A list field: not a list, too short or too long, and each bad value of its items in
    the first place (for lists of objects, each bad value of each field of the first item)."""
    name = "body." + ".".join(path)
    current = base.json.get(path[0]) if len(path) == 1 else None
    items = list(current) if isinstance(current, list) else []

    def with_items(values: list[Any]) -> Request:
        return replace(base, json=_with_field(base.json, path, values))

    for value in ["x", 1, {}]:
        yield Mutation(name, "type", replace(base, json=_with_field(base.json, path, value)), "422")
    if schema.get("minItems", 0) > 0:
        yield Mutation(name, "bound", with_items([]), "422")
    item_schema = schemas.resolve(schema["items"])
    sample = items[0] if items else str(uuid4()) if kind_of(item_schema) == "uuid" else None
    if "maxItems" in schema and sample is not None:
        many = [str(uuid4()) if kind_of(item_schema) == "uuid" else sample]
        yield Mutation(name, "bound", with_items(many * (schema["maxItems"] + 1)), "422")
    if kind_of(item_schema) != "object":
        for value_kind, value, value_class in field_values(item_schema, in_json=True):
            expect = _expect(extra, f"{name}[]", value_kind, value_class)
            yield Mutation(f"{name}[]", value_kind, with_items([value, *items[1:]]), expect)
        return
    if not items:
        return
    for key, property_schema in item_schema.get("properties", {}).items():
        field_name = f"{name}[].{key}"
        resolved = schemas.resolve(property_schema)
        for value_kind, value, value_class in field_values(resolved, in_json=True):
            first = items[0] | {key: value}
            expect = _expect(extra, field_name, value_kind, value_class)
            yield Mutation(field_name, value_kind, with_items([first, *items[1:]]), expect)
        if key in item_schema.get("required", []):
            first = {other: value for other, value in items[0].items() if other != key}
            yield Mutation(field_name, "missing", with_items([first, *items[1:]]), "422")


def body_mutations(base: Request) -> Iterator[Mutation]:
    text = json.dumps(base.json).encode()
    raw = {
        "malformed": b'{"a":',
        "truncated": text[:-1],
        "not_utf8": b"\xff\xfe{}",
        "empty": b"",
        "null": b"null",
        "list": b"[]",
        "string": b'"x"',
        "number": b"1",
    }
    for kind, content in raw.items():
        yield Mutation("body", kind, base.with_raw_body(content), "422")
    yield Mutation("body", "deep_list", base.with_raw_body(b"[" * 100_000), "4xx")
    yield Mutation("body", "deep_object", base.with_raw_body(b'{"a":' * 100_000), "4xx")
    yield Mutation("body", "text_plain", base.with_raw_body(text, "text/plain"), "422")
    form = base.with_raw_body(b"a=1&b=2", "application/x-www-form-urlencoded")
    yield Mutation("body", "form", form, "422")


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join(['*' + chr(97 + level)] * 10)}]\n"
    for level in range(8)
)
"""Ten to the ninth strings if expanded; yaml.safe_load shares them, and so must the checks."""
BAD_YAML = {
    "not_utf8": (b"\xff\xfe\x00\x01", "422"),
    "malformed": (b"active_period: [Permanent", "422"),
    "tabs": (b"a:\n\tb: 1", "422"),
    "nul": (b"active_period: \x00", "422"),
    "deep": (b"[" * 100_000, "422"),
    "oversized": (b"#" * (MAX_CONFIG_BYTES + 1), "422"),
    "alias_bomb": (ALIAS_BOMB.encode(), "issues"),
    "not_a_mapping": (b"[1, 2, 3]", "issues"),
    "scalar": (b"42", "issues"),
    "empty": (b"", "issues"),
    "huge_numbers": (
        b"active_period: {type: Permanent}\nfilters: {type_input_value: Number, "
        b"max_rate: 1e999, max_size: 99999999999999999999999999}\n"
        b"processing_policy: {policy_type: NRecords, n_records_count: -99999999999999999999}",
        "issues",
    ),
    "wrong_types": (
        b"active_period: {type: [1]}\nfilters: []\nprocessing_policy: {policy_type: {a: 1}}",
        "issues",
    ),
    "path_tricks": (
        b"active_period: {type: ../../etc/passwd}\nfilters: {type_input_value: '%2e%2e%2f'}\n"
        b"processing_policy: {policy_type: a/b}",
        "issues",
    ),
}
BAD_CSV = {
    "not_utf8": b"\xff\xfe\x00\x01",
    "binary": bytes(range(256)) * 4,
    "no_header": b"1,2024-01-01 00:00:00\n",
    "missing_column": b"state\n1\n",
    "bad_date": b"state,create_datetime\n1,yesterday\n",
    "not_a_number": b"state,create_datetime\nabc,2024-01-01 00:00:00\n",
    "infinite": b"state,create_datetime\n1e999,2024-01-01 00:00:00\n",
    "nan": b"state,create_datetime\nnan,2024-01-01 00:00:00\n",
    "nul": b"state,create_datetime\n1\x00,2024-01-01 00:00:00\n",
    "unclosed_quote": b'state,create_datetime\n"1,2024-01-01 00:00:00\n',
    "mb_cell": b"state,create_datetime\n" + b"1" * MB + b",2024-01-01 00:00:00\n",
    "oversized": b"#" * (Settings.model_fields["max_csv_import_size"].default * MB + 1),
}


ODD_CSV = {
    # NRecords rows have no time bound (only TimeWindow ones must lie in the window): kept.
    "far_future": b"state,create_datetime\n1,9999-12-31 23:59:59\n",
    "far_past": b"state,create_datetime\n1,0001-01-01 00:00:00\n",
}


BAD_TOML = {
    "not_utf8": b"\xff\xfe\x00",
    "not_toml": b"[general\nname = 1",
    "too_long": b"#" * 10_001,
    "nested": b"a = " + b"[" * 3000 + b"]" * 3000,
    "bad_section": b"general = 1",
    "too_many": b"[general]\nstack = [" + b'"x",' * 31 + b"]",
}


def upload_mutations(template: str, base: Request) -> Iterator[Mutation]:
    """Multipart routes: the upload (field `data`, or `file` for pepeunit.toml) is missing,
    misnamed or bad."""
    assert base.files is not None
    (field, upload), *_ = base.files.items()
    filename = upload[0]
    other = "data" if field == "file" else "file"
    yield Mutation("upload", "missing", replace(base, files=None), "422")
    yield Mutation("upload", "misnamed", replace(base, files={other: upload}), "422")
    yield Mutation("upload", "json", replace(base, files=None, json={field: "x"}), "422")
    raw = f"{field}=x".encode()
    yield Mutation("upload", "text", base.with_raw_body(raw, "multipart/form-data"), "4xx")
    if template.endswith("/convert_toml_to_md"):
        for kind, content in BAD_TOML.items():
            files = {field: (filename, content)}
            yield Mutation("upload", kind, replace(base, files=files), "422")
        return
    if template.endswith("_csv"):
        for kind, content in BAD_CSV.items():
            files = {"data": (filename, content)}
            yield Mutation("upload", kind, replace(base, files=files), "422")
        for kind, content in ODD_CSV.items():
            files = {"data": (filename, content)}
            yield Mutation("upload", kind, replace(base, files=files), "ok")
        return
    checking = template.endswith("/check_data_pipe_config")
    for kind, (content, expect) in BAD_YAML.items():
        files = {"data": (filename, content)}
        yield Mutation("upload", kind, replace(base, files=files), expect if checking else "422")


JUNK_PARAMS = {"junk": "a\x00b", "../..": "%2e%2e%2f", "limit_": "-1", "x" * 100: "y" * 10_000}


def mutations(schemas: Schemas, item: Row, base: Request, extra: Extra) -> Iterator[Mutation]:
    yield Mutation("query", "unknown_params", replace(base, params=base.params | JUNK_PARAMS), "ok")
    yield from path_mutations(schemas, item.route, base, extra)
    yield from query_mutations(schemas, item.route, base, extra)
    operation = schemas.operation(item.method, item.route)
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = schemas.resolve(content["application/json"]["schema"])
        yield from json_field_mutations(schemas, schema, base, extra, ())
        yield from body_mutations(base)
    elif "multipart/form-data" in content:
        yield from upload_mutations(item.route, base)


# --- checking ---------------------------------------------------------------------------------


def fingerprint(world: World) -> dict[str, Any]:
    """Every SQL row and the ClickHouse row counts."""
    with world.app.state.context.engine.connect() as connection:
        state: dict[str, Any] = {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }
    for table in CLICKHOUSE_TABLES:
        state[f"clickhouse.{table}"] = world.clickhouse.query(
            f"SELECT count() FROM {table}"
        ).result_rows[0][0]
    return state


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def base_request(world: World, item: Row) -> Request:
    call = item.call
    names = world.ids | (call.fresh(world) if call.fresh else {})
    path = re.sub(r"\{(\w+)\}", lambda match: names[match.group(1)], call.path)
    return Request(
        call.method,
        tuple(path.split("/")),
        fill(call.params, names) or {},
        fill(call.json, names) if call.json is not None else NO_BODY,
        files=call.files,
    )


def check(response: httpx.Response, mutation: Mutation, success: int) -> str | None:
    """What is wrong with the answer, or None."""
    status = response.status_code
    match mutation.expect:
        case "ok":
            good = status == success
        case "4xx":
            good = 400 <= status < 500
        case "issues":
            good = status == 200 and isinstance(response.json(), list) and bool(response.json())
        case "deny" | "allow":
            good = status == 200 and response.json() == {"result": mutation.expect}
        case expected:
            good = status == int(expected)
    return (
        None
        if good
        else f"{mutation.label}: expected {mutation.expect}, got {status} {response.text[:200]}"
    )


def report(problems: list[str | None]) -> None:
    found = [problem for problem in problems if problem]
    assert not found, "\n".join(found)


NEVER_FAILS = {"POST /units/auth"}
"""The broker hook answers every question with a 200: deny, unless the question still holds."""


@pytest.mark.parametrize("key", sorted(BASES))
def test_bad_input_is_refused(world: World, key: str) -> None:
    item = BASES[key]
    extra = EXTRAS.get(key, Extra())
    headers = world.headers[actor_of(item)]
    schemas = Schemas(world.app.openapi())

    def plan() -> list[Mutation]:
        planned = list(mutations(schemas, item, base_request(world, item), extra))
        if key in NEVER_FAILS:  # the question itself still holds for these two
            same = {"unknown_params", "text_plain"}
            return [
                replace(
                    mutation,
                    expect="allow" if mutation.kind in same or mutation.expect == "ok" else "deny",
                )
                for mutation in planned
            ]
        return planned

    planned = plan()
    assert planned, key
    problems = []
    before = fingerprint(world)
    for mutation in planned:
        if mutation.expect != "ok":
            problems.append(check(mutation.request.send(world, headers), mutation, item.status))
    report(problems)
    assert changed(before, fingerprint(world)) == {}, "a refused request changed something"
    # Values the route takes: each on a fresh resource (if the route takes one: it may use it up).
    for index, mutation in enumerate(planned):
        if mutation.expect == "ok":
            request = plan()[index].request if item.call.fresh else mutation.request
            problems.append(check(request.send(world, headers), mutation, item.status))
    if extra.restore is not None:
        extra.restore(world)
    report(problems)
    # The original request (with a malformed body where it takes none) succeeds: the mutations
    # above were refused for what they changed, not for something else.
    final = base_request(world, item)
    if final.json is NO_BODY and final.files is None:
        final = replace(final, content=b'{"not json', content_type="application/json")
    response = final.send(world, headers)
    wait_for_background_work()
    assert response.status_code == item.status, response.text


def test_every_route_is_covered(world: World) -> None:
    served = {f"{method} {path.removeprefix(API)}" for method, path in served_routes(world.app)}
    assert served - set(BASES) == set(), "routes without a request to mutate"
    schemas = Schemas(world.app.openapi())
    for key in sorted(BASES):
        item = BASES[key]
        planned = list(
            mutations(schemas, item, base_request(world, item), EXTRAS.get(key, Extra()))
        )
        assert planned, key
    assert set(EXTRAS) <= set(BASES), "EXTRAS for routes that do not exist"


class RedirectedError(AssertionError):
    """A route answered with a redirect, which devices cannot follow."""


def test_a_slash_more_or_less_is_not_a_redirect(world: World) -> None:
    client = TestClient(world.app, follow_redirects=False)  # no conftest hook: it refuses 307s
    redirects = []
    for key, item in sorted(BASES.items()):
        request = base_request(world, item)
        path = "/".join(request.segments)
        toggled = path[:-1] if path.endswith("/") else f"{path}/"
        if toggled == f"{world.settings.app_prefix}/":
            continue  # the console's home page (docs/console.md), for browsers
        headers = world.headers[actor_of(item)]
        response = client.request(item.method, toggled, params=request.params, headers=headers)
        assert response.status_code < 500, (key, response.text)
        if 300 <= response.status_code < 400:
            redirects.append(f"{item.method} {toggled} -> {response.headers.get('location')}")
    wait_for_background_work()
    if redirects:
        raise RedirectedError("\n".join(redirects))
