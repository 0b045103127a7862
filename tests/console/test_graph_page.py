"""The graph page: the units, nodes and edges the API would show the signed-in user, edges
created and deleted through the page's form and table (as the drawing's script does), refusals
as messages, and the live stream that tells the page the graph changed."""

import re
import time
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from control_plane.console.pages.graph import CHOICES_SHOWN
from control_plane.console.session import CSRF_FIELD, CSRF_HEADER
from control_plane.models.permission import AgentKind, PermissionCreate, ResourceKind
from control_plane.services.users import permissions
from pepeunit_core.db.enums import UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import UnitNodeEdge, User
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.console.server import serving
from tests.console.test_live import EventReader, session_cookies
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

HTMX = {"HX-Request": "true"}


def make_graph(app: FastAPI, alice: UUID, bob: UUID) -> dict[str, UUID]:
    """Alice's two public units (a sensor's output, a heater's input), Bob's public lamp and
    private safe, an edge of Alice's from her sensor to her heater and one of Bob's from her
    sensor to his safe."""
    with app.state.context.session_factory() as session:
        owner, other = session.get_one(User, alice), session.get_one(User, bob)
        repo = add_repo(session, owner, add_registry(session, owner))
        sensor = add_unit(session, owner, repo, "sensor")
        heater = add_unit(session, owner, repo, "heater")
        lamp = add_unit(session, other, repo, "lamp")
        safe = add_unit(session, other, repo, "safe")
        safe.visibility_level = VisibilityLevel.PRIVATE
        nodes = {
            "temperature": add_node(session, sensor, UnitNodeType.OUTPUT, "temperature/pepeunit"),
            "setpoint": add_node(session, heater, UnitNodeType.INPUT, "setpoint/pepeunit"),
            "switch": add_node(session, lamp, UnitNodeType.INPUT, "switch/pepeunit"),
            "lock": add_node(session, safe, UnitNodeType.INPUT, "lock/pepeunit"),
        }
        nodes["lock"].visibility_level = VisibilityLevel.PRIVATE
        session.add_all([
            UnitNodeEdge(node_output_uuid=nodes["temperature"].uuid,
                         node_input_uuid=nodes["setpoint"].uuid, creator_uuid=alice),
            UnitNodeEdge(node_output_uuid=nodes["temperature"].uuid,
                         node_input_uuid=nodes["lock"].uuid, creator_uuid=bob),
        ])  # fmt: skip
        session.commit()
        made = {name: node.uuid for name, node in nodes.items()}
        made |= {"sensor": sensor.uuid, "heater": heater.uuid, "lamp": lamp.uuid}
        return made | {"safe": safe.uuid}


def graph_data(console: ConsoleClient) -> dict:
    answer = console.get(f"{PREFIX}/graph/data")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_graph_shows_only_what_the_user_may_see(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    console.sign_in("alice")
    data = graph_data(console)
    assert [name for _, name in data["units"]] == ["heater", "lamp", "sensor"]
    assert {node[0] for node in data["nodes"]} == {
        str(made[name]) for name in ("temperature", "setpoint", "switch")
    }
    assert data["edges"] == [[str(made["temperature"]), str(made["setpoint"]), True]]

    page = console.get(f"{PREFIX}/graph")
    assert page.status_code == 200
    assert "lock/pepeunit" not in page.text and "safe" not in page.text
    assert f'id="edge-{made["temperature"]}-{made["setpoint"]}"' in page.text
    assert (
        '<option value="{}">sensor · temperature/pepeunit</option>'.format(made["temperature"])
        in page.text
    )
    version = graph_data(console)["version"]
    assert f'sse-connect="{PREFIX}/graph/live?version={version}&amp;page=1"' in page.text
    assert 'src="/pepeunit/static/graph.js?v=' in page.text

    # Bob sees the lamp's edge to nothing of Alice's private; he may not delete Alice's edge.
    console.sign_in("bobby")
    data = graph_data(console)
    assert data["edges"] == [[str(made["temperature"]), str(made["setpoint"]), False]]


def test_an_edge_is_created_and_deleted_through_the_page(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    console.sign_in("alice")
    new_edge = {"output": str(made["temperature"]), "input": str(made["switch"])}
    token = console.form_token(f"{PREFIX}/graph")
    # The form without a script: a redirect back to the page.
    answer = console.post(f"{PREFIX}/graph/edges", data=new_edge | {CSRF_FIELD: token})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/graph"
    assert [str(made["temperature"]), str(made["switch"]), True] in graph_data(console)["edges"]

    # htmx (and the drawing's script): the edges table comes back.
    answer = console.post(
        f"{PREFIX}/graph/edges/delete", data=new_edge, headers=HTMX | {CSRF_HEADER: console.csrf()}
    )
    assert answer.status_code == 200, answer.text
    assert "The edge is deleted." in answer.text
    assert f'id="edge-{made["temperature"]}-{made["switch"]}"' not in answer.text
    assert f'id="edge-{made["temperature"]}-{made["setpoint"]}"' in answer.text
    assert [str(made["temperature"]), str(made["switch"]), True] not in graph_data(console)["edges"]

    # Without the CSRF token, nothing happens.
    answer = console.post(f"{PREFIX}/graph/edges", data=new_edge, headers=HTMX)
    assert answer.status_code == 403


def test_an_edge_the_user_may_not_make_is_refused_with_a_message(
    console: ConsoleClient, app: FastAPI
):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    console.sign_in("alice")
    headers = HTMX | {CSRF_HEADER: console.csrf()}

    def create(output: str, input_: str) -> httpx.Response:
        return console.post(
            f"{PREFIX}/graph/edges",
            data={"output": str(made[output]), "input": str(made[input_])},
            headers=headers,
        )

    hidden = create("temperature", "lock")
    assert hidden.status_code == 403
    assert hidden.headers["HX-Retarget"] == "#messages"
    assert "Both unit nodes must be visible" in hidden.text
    twice = create("temperature", "setpoint")
    assert twice.status_code == 422 and "This edge already exists" in twice.text
    backwards = create("setpoint", "temperature")
    assert "must be an Output node" in backwards.text
    # Bob may not delete Alice's edge.
    console.sign_in("bobby")
    answer = console.post(
        f"{PREFIX}/graph/edges/delete",
        data={"output": str(made["temperature"]), "input": str(made["setpoint"])},
        headers=HTMX | {CSRF_HEADER: console.csrf()},
    )
    assert answer.status_code == 403 and "Only the edge&#39;s creator" in answer.text


def test_the_stream_says_when_the_graph_changed(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    with (
        serving(app) as origin,
        httpx.Client(base_url=origin, cookies=session_cookies(app, alice)) as http,
    ):
        first = graph_data_of(http)["version"]
        url = f"{PREFIX}/graph/live?version={first}"
        stream = http.send(http.build_request("GET", url, timeout=30), stream=True)
        events = EventReader(stream)
        events.wait_for("graph-version", first, 5)
        time.sleep(1.5)  # a poll or two: the page has this table, it is not sent again
        assert [name for name, _ in events.events] == ["graph-version"]
        with app.state.context.session_factory() as session:
            session.add(UnitNodeEdge(node_output_uuid=made["temperature"],
                                     node_input_uuid=made["switch"], creator_uuid=bob))  # fmt: skip
            session.commit()
        second = graph_data_of(http)["version"]
        assert second != first
        took = events.wait_for("graph-version", second, 5)
        assert took < 2.0, took
        events.wait_for("graph-edges", "lamp · switch/pepeunit", 1)
        events.hang_up()
        stream.close()


def graph_data_of(http: httpx.Client) -> dict:
    answer = http.get(f"{PREFIX}/graph/data")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_edges_table_is_paged(console: ConsoleClient, app: FastAPI):
    """120 edges: pages of 50, 50 and 20; a page past the end shows the last one."""
    register(console, "admin")
    alice = register(console, "alice")
    with app.state.context.session_factory() as session:
        owner = session.get_one(User, alice)
        repo = add_repo(session, owner, add_registry(session, owner))
        outputs, inputs = [], []
        for number in range(12):
            unit = add_unit(session, owner, repo, f"unit-{number:02}")
            outputs.append(add_node(session, unit, UnitNodeType.OUTPUT, "out/pepeunit"))
            inputs.append(add_node(session, unit, UnitNodeType.INPUT, "in/pepeunit"))
        session.add_all(
            UnitNodeEdge(node_output_uuid=out.uuid, node_input_uuid=in_.uuid, creator_uuid=alice)
            for out in outputs
            for in_ in inputs[:10]
        )
        session.commit()
    console.sign_in("alice")
    shown = {}
    for number, rows in ((1, 50), (2, 50), (3, 20)):
        page = console.get(f"{PREFIX}/graph?page={number}").text
        found = EDGE_ROW.findall(page)
        assert len(found) == rows, number
        shown[number] = found
        assert f"Page {number} of 3" in page and "120 edges" in page
        assert f'sse-connect="{PREFIX}/graph/live?version=' in page
        assert f"&amp;page={number}" in page
    assert len({row for rows in shown.values() for row in rows}) == 120
    assert 'rel="next" href="/pepeunit/graph?page=2"' in console.get(f"{PREFIX}/graph").text
    past = console.get(f"{PREFIX}/graph?page=9").text
    assert EDGE_ROW.findall(past) == shown[3] and "Page 3 of 3" in past
    assert console.get(f"{PREFIX}/graph?page=0").status_code == 422
    # A deletion through htmx answers with the page it was made from.
    output, input_ = shown[3][0]
    answer = console.post(
        f"{PREFIX}/graph/edges/delete?page=3",
        data={"output": output, "input": input_},
        headers=HTMX | {CSRF_HEADER: console.csrf()},
    )
    assert answer.status_code == 200 and "119 edges" in answer.text
    assert EDGE_ROW.findall(answer.text) == shown[3][1:]


EDGE_ROW = re.compile(r'<tr id="edge-([0-9a-f-]{36})-([0-9a-f-]{36})">')


def test_the_stream_reads_the_graph_only_when_it_may_have_changed(
    console: ConsoleClient, app: FastAPI
):
    """Each poll reads the change marker; the graph is read again only when it moved, here by
    Bob granting Alice his private unit."""
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    graph_reads = []

    def count_graph_reads(_conn, _cursor, statement: str, *_args: object) -> None:
        if "input_node" in statement:  # visible_graph's read of the edges
            graph_reads.append(time.monotonic())

    engine = app.state.context.session_factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", count_graph_reads)
    try:
        with (
            serving(app) as origin,
            httpx.Client(base_url=origin, cookies=session_cookies(app, alice)) as http,
        ):
            first = graph_data_of(http)["version"]
            stream = http.send(
                http.build_request("GET", f"{PREFIX}/graph/live?version={first}", timeout=30),
                stream=True,
            )
            events = EventReader(stream)
            events.wait_for("graph-version", first, 5)
            reads_before = len(graph_reads)
            time.sleep(2.5)  # two polls or more
            assert len(graph_reads) == reads_before
            with app.state.context.session_factory() as session:
                permissions.create_permission(
                    session,
                    session.get_one(User, bob),
                    PermissionCreate(agent_uuid=alice, agent_type=AgentKind.USER,
                                     resource_uuid=made["safe"], resource_type=ResourceKind.UNIT),
                )  # fmt: skip
            events.wait_for("graph-edges", "4 units", 3)  # the safe too
            second = graph_data_of(http)["version"]
            assert second != first
            events.wait_for("graph-version", second, 3)
            assert len(graph_reads) > reads_before
            events.hang_up()
            stream.close()
    finally:
        event.remove(engine, "before_cursor_execute", count_graph_reads)


def test_the_edge_form_lists_a_bounded_number_of_nodes_and_searches_the_rest(
    console: ConsoleClient, app: FastAPI
):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    made = make_graph(app, alice, bob)
    with app.state.context.session_factory() as session:
        owner = session.get_one(User, alice)
        repo = add_repo(session, owner, add_registry(session, owner))
        crowd = add_unit(session, owner, repo, "crowd")
        for number in range(CHOICES_SHOWN + 5):
            add_node(session, crowd, UnitNodeType.OUTPUT, f"reading{number:03}/pepeunit")
        session.commit()
    console.sign_in("alice")

    page = console.get(f"{PREFIX}/graph").text
    outputs = re.search(r'<select id="edge-output".*?</select>', page, re.DOTALL).group(0)
    assert outputs.count("<option") == CHOICES_SHOWN
    assert f"({CHOICES_SHOWN} of {CHOICES_SHOWN + 6} shown" in page

    def choices(kind: str, search: str) -> list[str]:
        answer = console.get(f"{PREFIX}/graph/choices", params={"type": kind, "search": search})
        assert answer.status_code == 200, answer.text
        return re.findall(r"<option[^>]*>([^<]*)</option>", answer.text)

    assert choices("Output", "SENSOR temp") == ["sensor · temperature/pepeunit"]
    assert choices("Output", "crowd reading104") == ["crowd · reading104/pepeunit"]
    assert choices("Input", "") == ["heater · setpoint/pepeunit", "lamp · switch/pepeunit"]
    assert choices("Input", "lock") == ["No node matches"]  # Bob's private node stays hidden
    assert str(made["lock"]) not in console.get(f"{PREFIX}/graph/choices?type=Input").text
    assert console.get(f"{PREFIX}/graph/choices", params={"type": "Sideways"}).status_code == 422
