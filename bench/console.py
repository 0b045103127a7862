"""Console benchmark: how long the console's pages take with a big instance, on this machine.

1. Server side: the app (uvicorn in a thread of this process, asked over loopback HTTP by
   httpx, one request at a time) on a throw-away PostgreSQL cluster seeded with `--units`
   units (2 Output and 2 Input nodes each) and `--edges` edges; `--requests` requests each,
   in turns, of the units list (its first page of 50), the graph page (its first page of
   edges), and the graph's data route, plus what the graph's live stream reads on a poll: the
   change marker on each, the whole graph when the marker moved. Reports p50/p99 ms and the
   size of the answer.
2. Client side: the same app on a real server, the graph page in Debian's Chromium
   (`/usr/bin/chromium`), loaded `--draws` times: the time cytoscape.js takes to lay out and draw
   the graph (`#graph[data-draw-ms]`, from the data's arrival to the first frame), and from the
   start of the navigation to that frame.
3. Live values: a real `pepeunit up` (API, dataflow, embedded broker) with one unit; the units
   page open in Chromium; `--publishes` values published by the unit over MQTT, each timed from
   the publish to the value shown in the page (checked every 10 ms).

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/console.py [--units 1000] [--edges 2000]
        [--requests 30] [--draws 5] [--publishes 20] [--skip-platform]
Prints Markdown tables; bench/RESULTS.md records the figures.
"""

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.console.session import SESSION_COOKIE
from control_plane.security import Agent, AgentType, make_unit_token, make_user_token
from control_plane.services.nodes.graph import graph_marker, visible_graph
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import UnitNodeEdge, User
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.topics import node_topic
from tests.console.browser import chromium, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.server import serving
from tests.console.test_browser_platform import SHOWS, UnitClient, create_unit, make_source
from tests.control_plane.conftest import CHEAP_ARGON2, make_settings
from tests.e2e.platform import SECRET_KEY, running_platform
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit
from tests.services.ports import free_loopback_port
from tests.services.postgres import fresh_database, running_postgres

NODES_PER_SIDE = 2
WARM_UP = 3


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: Sequence[float]) -> str:
    return f"{percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f}"


def seed(app: FastAPI, units: int, edges: int) -> UUID:
    """The Admin (registered through the API) owning `units` units and `edges` edges."""
    with TestClient(app) as client:
        answer = client.post(
            f"{PREFIX}/api/v1/users", json={"login": "admin", "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        admin = UUID(answer.json()["uuid"])
    with app.state.context.session_factory() as session:
        owner = session.get_one(User, admin)
        repo = add_repo(session, owner, add_registry(session, owner))
        outputs, inputs = [], []
        for number in range(units):
            unit = add_unit(session, owner, repo, f"unit-{number:04}")
            for side in range(NODES_PER_SIDE):
                outputs.append(add_node(session, unit, UnitNodeType.OUTPUT, f"out{side}/pepeunit"))
                inputs.append(add_node(session, unit, UnitNodeType.INPUT, f"in{side}/pepeunit"))
        # Edge k: from the k-th Output node to an Input node of a unit spread over the others.
        for k in range(edges):
            target = inputs[(k * 37 + 11) % len(inputs)]
            session.add(
                UnitNodeEdge(
                    node_output_uuid=outputs[k % len(outputs)].uuid,
                    node_input_uuid=target.uuid,
                    creator_uuid=admin,
                )
            )
        session.commit()
    return admin


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def server_side(app: FastAPI, admin: UUID, requests: int) -> None:
    settings = app.state.context.settings
    token = make_user_token(admin, settings.resolved_secret_key, 3600)
    routes = {
        "units list (page 1 of 50)": f"{PREFIX}/units",
        "graph page": f"{PREFIX}/graph",
        "graph data (JSON)": f"{PREFIX}/graph/data",
    }
    times: dict[str, list[float]] = {name: [] for name in routes}
    sizes: dict[str, int] = {}
    with (
        serving(app) as origin,
        httpx.Client(base_url=origin, cookies={SESSION_COOKIE: token}, timeout=60) as client,
    ):
        for turn in range(WARM_UP + requests):
            for name, path in routes.items():
                started = time.perf_counter()
                answer = client.get(path)
                took = (time.perf_counter() - started) * 1000
                assert answer.status_code == 200, (path, answer.status_code)
                sizes[name] = len(answer.content)
                if turn >= WARM_UP:
                    times[name].append(took)
    with app.state.context.session_factory() as session:
        user = session.get_one(User, admin)
        agent = Agent(AgentType.USER, admin, user)
        reads = [timed(lambda: visible_graph(session, agent)) for _ in range(WARM_UP + requests)]
        markers = [timed(lambda: graph_marker(session)) for _ in range(WARM_UP + requests)]
        graph = visible_graph(session, agent)
    print(
        f"\n### Server side ({len(graph.units)} units, {len(graph.nodes)} nodes, "
        f"{len(graph.edges)} edges; {requests} requests each)\n"
    )
    print("| route | p50 ms | p99 ms | answer KiB |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {summary(values)} | {sizes[name] / 1024:.0f} |")
    print(f"| graph read of a live poll after a change (service) | {summary(reads[WARM_UP:])} | |")
    print(f"| live poll with no change: the marker (service) | {summary(markers[WARM_UP:])} | |")


def client_side(app: FastAPI, admin: UUID, draws: int) -> None:
    settings = app.state.context.settings
    token = make_user_token(admin, settings.resolved_secret_key, 3600)
    drawn, loaded = [], []
    with serving(app) as origin, chromium() as browser, watched_page(browser) as watched:
        page = watched.page
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": origin}])
        for _ in range(draws):
            page.goto(f"{origin}{PREFIX}/graph")
            page.wait_for_function(
                "() => document.getElementById('graph').dataset.drawMs", timeout=120_000
            )
            draw_ms, since_navigation = page.evaluate(
                "() => [Number(document.getElementById('graph').dataset.drawMs), performance.now()]"
            )
            drawn.append(draw_ms)
            loaded.append(since_navigation)
        watched.screenshot("bench-graph")
        assert watched.errors == [], watched.errors
    print(f"\n### Client side (Chromium, {draws} loads)\n")
    print("| measure | p50 ms | max ms |")
    print("|---|---:|---:|")
    print(f"| cytoscape lays out and draws | {percentile(drawn, 0.5):.0f} | {max(drawn):.0f} |")
    print(
        f"| navigation start to the graph drawn | {percentile(loaded, 0.5):.0f} | "
        f"{max(loaded):.0f} |"
    )


def live_values(publishes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="console-bench-") as directory:
        root = Path(directory)
        source, _ = make_source(root)
        broker_port = free_loopback_port()
        with (
            running_platform(root / "data", PU_MQTT_PORT=str(broker_port)) as platform,
            chromium() as browser,
            watched_page(browser) as watched,
        ):
            created = httpx.post(
                f"{platform.api}/users", json={"login": "admin", "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
            unit, node = create_unit(platform.api, source)
            origin = platform.api.removesuffix(f"{PREFIX}/api/v1")
            page = watched.page
            page.goto(f"{origin}{PREFIX}/sign-in")
            page.get_by_label("Login or Telegram chat id").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{origin}{PREFIX}/units")
            device = UnitClient(broker_port, make_unit_token(UUID(unit), SECRET_KEY))
            topic = node_topic(platform.domain, node, "temperature/pepeunit")
            delays = []
            try:
                device.publish(topic, "0.5")  # waits for the dataflow to load the pipeline
                page.wait_for_function(SHOWS, arg=[f"value-{node}", "0.5"], timeout=60_000)
                for number in range(1, publishes + 1):
                    value = f"{number}.25"
                    published = time.monotonic()
                    device.publish(topic, value)
                    page.wait_for_function(
                        SHOWS, arg=[f"value-{node}", value], polling=10, timeout=10_000
                    )
                    delays.append((time.monotonic() - published) * 1000)
            finally:
                device.close()
            assert watched.errors == [], watched.errors
    print(f"\n### MQTT publish to the value shown in the units page ({publishes} publishes)\n")
    print("| p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|")
    print(f"| {summary(delays)} | {max(delays):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--skip-platform", action="store_true")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}; {json.dumps(vars(options))}")
    with running_postgres() as server, fresh_database(server) as database:
        migrate_sql(database.url)
        app = create_app(make_settings(database.url, secure=False), password_hasher=CHEAP_ARGON2)
        started = time.perf_counter()
        admin = seed(app, options.units, options.edges)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        server_side(app, admin, options.requests)
        client_side(app, admin, options.draws)
    if not options.skip_platform:
        live_values(options.publishes)


if __name__ == "__main__":
    main()
