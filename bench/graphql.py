"""GraphQL benchmark: `getUnits` with each unit's nodes against REST's
`GET /units?is_include_output_unit_nodes=true`, on the same data in one run.

The app (uvicorn in a thread of this process, asked over loopback HTTP by httpx, one request
at a time) on a throw-away PostgreSQL cluster seeded with `--units` units (2 Output and 2 Input
nodes each) owned by one user; `--requests` requests of each, in turns, for a page of all the
units with their Output nodes. Reports requests per second, p50/p99 ms, the SQL statements the
app ran per request (SQLAlchemy's `before_cursor_execute`) and the size of the answer.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/graphql.py [--units 100] [--requests 200]
Prints a Markdown table; bench/RESULTS.md records the figures.
"""

import sys
from pathlib import Path

# This file is named after the API it measures; drop its folder from the path so that
# `import graphql` (graphql-core, under Strawberry) finds the package, not this script.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).parent]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402
from uuid import UUID  # noqa: E402

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlalchemy import event  # noqa: E402

from control_plane.app import create_app  # noqa: E402
from control_plane.security import make_user_token  # noqa: E402
from pepeunit_core.db.enums import UnitNodeType  # noqa: E402
from pepeunit_core.migrate import migrate_sql  # noqa: E402
from tests.console.server import serving  # noqa: E402
from tests.control_plane.conftest import CHEAP_ARGON2, make_settings  # noqa: E402
from tests.pepeunit_core.builders import (  # noqa: E402
    add_node,
    add_registry,
    add_repo,
    add_unit,
    add_user,
)
from tests.services.postgres import fresh_database, running_postgres  # noqa: E402

PREFIX = "/pepeunit"
NODES_PER_SIDE = 2
WARM_UP = 5
GET_UNITS = """query($filters: UnitFilterInput!) { getUnits(filters: $filters) { count units {
    uuid visibilityLevel name createDatetime isAutoUpdateFromRepoUnit targetFirmwarePlatform
    repoBranch repoCommit currentCommitVersion lastUpdateDatetime creatorUuid repoUuid
    firmwareUpdateStatus firmwareUpdateError lastFirmwareUpdateDatetime
    unitState { ifconfig millis memFree memAlloc freq statvfs puCommitVersion }
    unitNodes { uuid type visibilityLevel isRewritableInput maxConnections topicName
        isDataPipeActive createDatetime lastUpdateDatetime creatorUuid unitUuid } } } }"""


def seed(app: FastAPI, units: int) -> UUID:
    """A user owning `units` units with their nodes."""
    with app.state.context.session_factory() as session:
        owner = add_user(session, "bench")
        repo = add_repo(session, owner, add_registry(session, owner))
        for number in range(units):
            unit = add_unit(session, owner, repo, f"unit-{number:04}")
            for side in range(NODES_PER_SIDE):
                add_node(session, unit, UnitNodeType.OUTPUT, f"out{side}/pepeunit")
                add_node(session, unit, UnitNodeType.INPUT, f"in{side}/pepeunit")
        session.commit()
        return owner.uuid


class StatementCounter:
    """SQL statements the app's engine ran (requests go one at a time)."""

    def __init__(self, app: FastAPI) -> None:
        self.count = 0
        event.listen(app.state.context.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def measure(
    requests: int, calls: dict[str, Callable[[], httpx.Response]], counter: StatementCounter
) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {name: [] for name in calls}
    statements: dict[str, set[int]] = {name: set() for name in calls}
    sizes: dict[str, int] = {}
    for turn in range(WARM_UP + requests):
        for name, call in calls.items():
            before = counter.count
            started = time.perf_counter()
            answer = call()
            took = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            assert "errors" not in answer.json(), answer.text
            sizes[name] = len(answer.content)
            if turn >= WARM_UP:
                times[name].append(took)
                statements[name].add(counter.count - before)
    results = {}
    for name, values in times.items():
        centiles = statistics.quantiles(values, n=100, method="inclusive")
        results[name] = {
            "rps": len(values) / sum(values),
            "p50": statistics.median(values) * 1000,
            "p99": centiles[98] * 1000,
            "sql": max(statements[name]),
            "kib": sizes[name] / 1024,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}; {json.dumps(vars(options))}")
    with running_postgres() as server, fresh_database(server) as database:
        migrate_sql(database.url)
        app = create_app(make_settings(database.url, secure=False), password_hasher=CHEAP_ARGON2)
        owner = seed(app, options.units)
        token = make_user_token(owner, app.state.context.settings.resolved_secret_key, 3600)
        counter = StatementCounter(app)
        page = {"limit": options.units, "offset": 0}
        with (
            serving(app) as origin,
            httpx.Client(base_url=origin, headers={"x-auth-token": token}, timeout=60) as client,
        ):
            calls = {
                "GraphQL getUnits { units { unitNodes } }": lambda: client.post(
                    f"{PREFIX}/graphql",
                    # REST includes Output nodes by default, 1.x's GraphQL every type.
                    json={
                        "query": GET_UNITS,
                        "variables": {"filters": page | {"unitNodeType": ["OUTPUT"]}},
                    },
                ),
                "REST GET /units?is_include_output_unit_nodes=true": lambda: client.get(
                    f"{PREFIX}/api/v1/units",
                    params={"is_include_output_unit_nodes": "true", **page},
                ),
            }
            results = measure(options.requests, calls, counter)
    print(f"\n### {options.units} units with their nodes ({options.requests} requests each)\n")
    print("| request | req/s | p50 ms | p99 ms | SQL statements | answer KiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(
            f"| {name} | {row['rps']:.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
            f"{row['sql']:.0f} | {row['kib']:.0f} |"
        )


if __name__ == "__main__":
    main()
