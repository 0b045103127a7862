"""The graph: the units the user sees, their Output and Input nodes, and the edges between them
(`services.nodes.graph`), drawn by `static/graph.js` with cytoscape.js and listed in a table.

`GET /graph` is the page; `GET /graph/data` the graph as JSON for the script; `GET /graph/live`
the SSE stream that sends the graph's version (event `graph-version`) and the edges table
(`graph-edges`) when they change; `POST /graph/edges` creates an edge and
`POST /graph/edges/delete` deletes one, both through `services.nodes.edges` (for htmx they
answer with the edges table, else a redirect to the page).
"""

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Form, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.auth import ConsoleAgent, ConsoleUser, StreamAgent
from control_plane.console.live import ServerEvent, event_stream
from control_plane.console.routing import console_router
from control_plane.console.templating import is_htmx, render, render_text
from control_plane.models.unit_node import UnitNodeEdgeCreate
from control_plane.security import Agent
from control_plane.services.nodes import edges
from control_plane.services.nodes.graph import Graph, GraphEdge, visible_graph
from pepeunit_core.db.enums import UnitNodeType

LIVE_INTERVAL_S = 1.0
"""A graph is read whole on each poll: once a second is enough for edges people draw."""

VERSION_CHARACTERS = 64

router = console_router()

NodeUuid = Annotated[UUID, Form()]


@dataclass(frozen=True)
class NodeChoice:
    uuid: UUID
    label: str
    """`unit name · topic`."""


@dataclass(frozen=True)
class EdgeRow:
    output: NodeChoice
    input: NodeChoice
    deletable: bool


@dataclass(frozen=True)
class GraphTable:
    """What the accessible equivalent of the drawing shows."""

    edges: list[EdgeRow]
    outputs: list[NodeChoice]
    inputs: list[NodeChoice]
    units: int
    truncated: bool


def graph_table(graph: Graph) -> GraphTable:
    names = {unit.uuid: unit.name for unit in graph.units}
    choices = {
        node.uuid: (node.type, NodeChoice(node.uuid, f"{names[node.unit_uuid]} · {node.topic}"))
        for node in graph.nodes
    }

    def row(edge: GraphEdge) -> EdgeRow:
        return EdgeRow(choices[edge.output_uuid][1], choices[edge.input_uuid][1], edge.deletable)

    def of_type(kind: UnitNodeType) -> list[NodeChoice]:
        found = [choice for type_, choice in choices.values() if type_ is kind]
        return sorted(found, key=lambda choice: choice.label)

    return GraphTable(
        sorted((row(edge) for edge in graph.edges), key=lambda e: (e.output.label, e.input.label)),
        of_type(UnitNodeType.OUTPUT),
        of_type(UnitNodeType.INPUT),
        len(graph.units),
        graph.truncated,
    )


def graph_json(graph: Graph) -> dict[str, object]:
    """Compact rows (lists, not objects): a graph of thousands of units stays small."""
    return {
        "version": graph.version,
        "truncated": graph.truncated,
        "units": [[str(unit.uuid), unit.name] for unit in graph.units],
        "nodes": [
            [str(node.uuid), str(node.unit_uuid), node.type.value, node.topic]
            for node in graph.nodes
        ],
        "edges": [
            [str(edge.output_uuid), str(edge.input_uuid), edge.deletable] for edge in graph.edges
        ],
    }


@router.get("/graph")
def graph_page(request: Request, agent: ConsoleAgent, session: SessionDep) -> Response:
    graph = visible_graph(session, agent)
    return render(
        request, "graph/page.html", title="Graph", table=graph_table(graph), version=graph.version
    )


@router.get("/graph/data")
def graph_data(agent: ConsoleAgent, session: SessionDep) -> Response:
    return JSONResponse(graph_json(visible_graph(session, agent)))


@router.get("/graph/live")
def graph_live(
    request: Request,
    agent: StreamAgent,
    context: ContextDep,
    version: Annotated[str, Query(max_length=VERSION_CHARACTERS)] = "",
) -> Response:
    """`version` is the one the page was rendered with: its table is not sent again until
    the graph changes (a big graph's table is megabytes)."""
    shown: dict[str, str] = {}

    def poll() -> list[ServerEvent]:
        with context.session_factory() as session:
            graph = visible_graph(session, agent)
        current = graph.version
        events = [ServerEvent("graph-version", current)]
        if current == version and "table" not in shown:
            return events
        if shown.get("version") != current:  # the table is rendered only when it changed
            shown["version"] = current
            shown["table"] = render_text(request, "graph/edges.html", table=graph_table(graph))
        return [*events, ServerEvent("graph-edges", shown["table"])]

    return event_stream(poll, interval_s=LIVE_INTERVAL_S)


def _edges_answer(request: Request, agent: Agent, session: SessionDep, notice: str) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"{request.app.state.context.settings.app_prefix}/graph", 303)
    graph = visible_graph(session, agent)
    return render(request, "graph/edges.html", table=graph_table(graph), notice=notice)


@router.post("/graph/edges")
def create_edge(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    session: SessionDep,
    output: NodeUuid,
    input: NodeUuid,
) -> Response:
    edges.create_edge(
        session, user, UnitNodeEdgeCreate(node_output_uuid=output, node_input_uuid=input)
    )
    return _edges_answer(request, agent, session, "The edge is created.")


@router.post("/graph/edges/delete")
def delete_edge(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    session: SessionDep,
    output: NodeUuid,
    input: NodeUuid,
) -> Response:
    edges.delete_edge(session, user, input, output)
    return _edges_answer(request, agent, session, "The edge is deleted.")
