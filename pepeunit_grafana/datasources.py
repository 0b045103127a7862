"""The Grafana data sources the dashboards query, and their provisioning file.

Dashboards name data sources by fixed uids, so the same dashboard files work on every Grafana
that has the provisioned data sources. Connection details are `${...}` placeholders that
Grafana fills from its own environment when it reads the file.
"""

from enum import StrEnum
from typing import Any

from sqlalchemy.engine import make_url

CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"
POSTGRESQL_PLUGIN = "grafana-postgresql-datasource"
SQLITE_PLUGIN = "frser-sqlite-datasource"

CLICKHOUSE_UID = "pepeunit-clickhouse"
SQL_UID = "pepeunit-sql"

CLICKHOUSE_ENV = {
    "host": "PEPEUNIT_CLICKHOUSE_HOST",
    "port": "PEPEUNIT_CLICKHOUSE_PORT",
    "secure": "PEPEUNIT_CLICKHOUSE_SECURE",
    "username": "PEPEUNIT_CLICKHOUSE_USER",
    "password": "PEPEUNIT_CLICKHOUSE_PASSWORD",
    "database": "PEPEUNIT_CLICKHOUSE_DATABASE",
}
POSTGRESQL_ENV = {
    "url": "PEPEUNIT_POSTGRES_HOST",
    "user": "PEPEUNIT_POSTGRES_USER",
    "password": "PEPEUNIT_POSTGRES_PASSWORD",
    "database": "PEPEUNIT_POSTGRES_DATABASE",
    "sslmode": "PEPEUNIT_POSTGRES_SSLMODE",
}
SQLITE_ENV = {"path": "PEPEUNIT_SQLITE_PATH"}


class SqlDialect(StrEnum):
    """The SQL database holding LastValue (`units_nodes.state`)."""

    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


def sql_dialect_of_url(url: str) -> SqlDialect:
    """The dialect of a SQLAlchemy URL; ValueError for a database Pepeunit does not run on."""
    backend = make_url(url).get_backend_name()
    try:
        return SqlDialect(backend)
    except ValueError:
        raise ValueError(f"no Grafana data source for a {backend!r} database") from None


def clickhouse_ref() -> dict[str, str]:
    return {"type": CLICKHOUSE_PLUGIN, "uid": CLICKHOUSE_UID}


def sql_ref(dialect: SqlDialect) -> dict[str, str]:
    plugin = POSTGRESQL_PLUGIN if dialect is SqlDialect.POSTGRESQL else SQLITE_PLUGIN
    return {"type": plugin, "uid": SQL_UID}


def _env(name: str) -> str:
    return f"${{{name}}}"


def _clickhouse_datasource() -> dict[str, Any]:
    env = CLICKHOUSE_ENV
    return {
        "name": "Pepeunit ClickHouse",
        "uid": CLICKHOUSE_UID,
        "type": CLICKHOUSE_PLUGIN,
        "editable": False,
        "jsonData": {
            "host": _env(env["host"]),
            "port": _env(env["port"]),
            "protocol": "http",
            "secure": _env(env["secure"]),
            "username": _env(env["username"]),
            "defaultDatabase": _env(env["database"]),
        },
        "secureJsonData": {"password": _env(env["password"])},
    }


def _sql_datasource(dialect: SqlDialect) -> dict[str, Any]:
    common = {"name": "Pepeunit SQL", "uid": SQL_UID, "editable": False}
    if dialect is SqlDialect.SQLITE:
        return {**common, "type": SQLITE_PLUGIN, "jsonData": {"path": _env(SQLITE_ENV["path"])}}
    env = POSTGRESQL_ENV
    return {
        **common,
        "type": POSTGRESQL_PLUGIN,
        "url": _env(env["url"]),
        "user": _env(env["user"]),
        "jsonData": {"database": _env(env["database"]), "sslmode": _env(env["sslmode"])},
        "secureJsonData": {"password": _env(env["password"])},
    }


def datasources_document(dialect: SqlDialect) -> dict[str, Any]:
    """The `provisioning/datasources` file: ClickHouse and the SQL database."""
    return {"apiVersion": 1, "datasources": [_clickhouse_datasource(), _sql_datasource(dialect)]}


def environment_variables(dialect: SqlDialect) -> list[str]:
    """The variables Grafana's environment must set for the provisioned data sources."""
    sql_env = SQLITE_ENV if dialect is SqlDialect.SQLITE else POSTGRESQL_ENV
    return [*CLICKHOUSE_ENV.values(), *sql_env.values()]
