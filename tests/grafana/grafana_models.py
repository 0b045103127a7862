"""Grafana's own dashboard models (grafana-foundation-sdk) as a validator of dashboard JSON.

The SDK's `from_json` keeps only the fields its models know and does not check types, so a
dashboard counts as valid here when
- parsing it with the models and serializing it again gives back exactly the same JSON (no
  unknown or misplaced key, no default left implicit), and
- every value held by a model matches the type the model declares (walked recursively).

The SDK has no models for the queries of the ClickHouse, PostgreSQL and SQLite data sources;
they are registered below as custom query types, the way the SDK's README shows, with the
fields each plugin's query editor saves.
"""

import enum
import json
import types
import typing
import warnings
from typing import Any, Self

from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins

with warnings.catch_warnings():
    # The module warns that the v1 dashboard model is superseded by v2; v1 is what the file
    # provisioner and /api/dashboards/db take.
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.models.dashboard import Dashboard

from pepeunit_grafana.datasources import CLICKHOUSE_PLUGIN, POSTGRESQL_PLUGIN, SQLITE_PLUGIN

_SDK_MODULE = "grafana_foundation_sdk"


class _PluginQuery(cogvariants.Dataquery):
    """A query with the given JSON fields (camelCase) and Python attributes (snake_case)."""

    FIELDS: typing.ClassVar[dict[str, str]] = {}
    PLUGIN: typing.ClassVar[str] = ""
    datasource: dict[str, str]

    def __init__(self, **values: Any) -> None:
        for attribute in self.FIELDS.values():
            setattr(self, attribute, values.get(attribute))

    def to_json(self) -> dict[str, object]:
        return {
            key: getattr(self, attribute)
            for key, attribute in self.FIELDS.items()
            if getattr(self, attribute) is not None
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(**{attribute: data[key] for key, attribute in cls.FIELDS.items() if key in data})


class ClickHouseQuery(_PluginQuery):
    """grafana-clickhouse-datasource: src/types/sql.ts (CHSqlQuery) and sqlds' query model."""

    PLUGIN: typing.ClassVar[str] = CLICKHOUSE_PLUGIN
    FIELDS: typing.ClassVar[dict[str, str]] = {
        "datasource": "datasource",
        "editorType": "editor_type",
        "format": "format",
        "queryType": "query_type",
        "rawSql": "raw_sql",
        "refId": "ref_id",
    }
    editor_type: typing.Literal["sql"]
    format: typing.Literal[0, 1]
    query_type: typing.Literal["timeSeries", "table"]
    raw_sql: str
    ref_id: str


class PostgresQuery(_PluginQuery):
    """Grafana's SQL data sources (SQLQuery of @grafana/sql)."""

    PLUGIN: typing.ClassVar[str] = POSTGRESQL_PLUGIN
    FIELDS: typing.ClassVar[dict[str, str]] = {
        "datasource": "datasource",
        "editorMode": "editor_mode",
        "format": "format",
        "rawQuery": "raw_query",
        "rawSql": "raw_sql",
        "refId": "ref_id",
    }
    editor_mode: typing.Literal["code"]
    format: typing.Literal["table", "time_series"]
    raw_query: bool
    raw_sql: str
    ref_id: str


class SQLiteQuery(_PluginQuery):
    """frser-sqlite-datasource: src/types.ts (SQLiteQuery)."""

    PLUGIN: typing.ClassVar[str] = SQLITE_PLUGIN
    FIELDS: typing.ClassVar[dict[str, str]] = {
        "datasource": "datasource",
        "queryText": "query_text",
        "queryType": "query_type",
        "rawQueryText": "raw_query_text",
        "refId": "ref_id",
        "timeColumns": "time_columns",
    }
    query_text: str
    query_type: typing.Literal["table", "time series"]
    raw_query_text: str
    ref_id: str
    time_columns: list[str]


register_default_plugins()
for _query in (ClickHouseQuery, PostgresQuery, SQLiteQuery):
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(_query.PLUGIN, _query.from_json)
    )


def _is_model(value: object) -> bool:
    module = type(value).__module__
    return module.startswith(_SDK_MODULE) or isinstance(value, _PluginQuery)


def _matches(value: object, annotation: Any, path: str, problems: list[str]) -> bool:
    """Whether `value` fits `annotation`; nested models add their own problems."""
    if annotation in (Any, object):
        if _is_model(value):
            _check_model(value, path, problems)
        return True
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        # The arm that fits with the fewest problems inside it is the one that counts.
        fits: list[list[str]] = []
        for arm in arguments:
            arm_problems: list[str] = []
            if _matches(value, arm, path, arm_problems):
                fits.append(arm_problems)
        if not fits:
            return False
        problems.extend(min(fits, key=len))
        return True
    if origin is typing.Literal:
        return value in arguments and type(value) in {type(argument) for argument in arguments}
    if origin is list:
        return isinstance(value, list) and all(
            _matches(item, arguments[0], f"{path}[{index}]", problems)
            for index, item in enumerate(value)
        )
    if origin is dict:
        return isinstance(value, dict) and all(
            _matches(item, arguments[1], f"{path}.{key}", problems) for key, item in value.items()
        )
    if annotation is type(None):
        return value is None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return isinstance(value, annotation) or value in {member.value for member in annotation}
    if annotation in (int, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(annotation, type):
        if not isinstance(value, annotation):
            return False
        if _is_model(value):
            _check_model(value, path, problems)
        return True
    return True  # a type alias the SDK leaves open


def _check_model(model: object, path: str, problems: list[str]) -> bool:
    hints = typing.get_type_hints(type(model))
    for name, annotation in hints.items():
        if typing.get_origin(annotation) is typing.ClassVar or not hasattr(model, name):
            continue
        value = getattr(model, name)
        where = f"{path}.{name}"
        if not _matches(value, annotation, where, problems):
            problems.append(f"{where}: {value!r} is not {annotation}")
    return True


def dashboard_problems(document: dict[str, Any]) -> list[str]:
    """Why `document` is not a dashboard Grafana's models read as it is; [] when it is."""
    problems: list[str] = []
    model = Dashboard.from_json(document)
    again = json.loads(JSONEncoder(sort_keys=True).encode(model))
    if again != document:
        problems.append(f"not unchanged by Grafana's models: {_first_difference(document, again)}")
    for index, panel in enumerate(model.panels or []):
        for target in getattr(panel, "targets", None) or []:
            if not isinstance(target, _PluginQuery):
                problems.append(f"panels[{index}]: a query of no known data source type")
            elif (target.datasource or {}).get("type") != target.PLUGIN:
                problems.append(f"panels[{index}]: a {target.PLUGIN} query names another source")
    _check_model(model, "dashboard", problems)
    return problems


def _first_difference(expected: object, actual: object, path: str = "") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                return f"{path}.{key} dropped"
            if key not in expected:
                return f"{path}.{key} = {actual[key]!r} added"
            if expected[key] != actual[key]:
                return _first_difference(expected[key], actual[key], f"{path}.{key}")
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
    return f"{path}: {expected!r} became {actual!r}"
