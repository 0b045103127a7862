"""The graph: the units the user sees, their Output and Input nodes, and the edges between them
(`services.nodes.graph`), drawn by `static/graph.js` with cytoscape.js and listed in a table.

`GET /graph?page=N` is the page, its edges table in pages of `PAGE_SIZE`; `GET /graph/data` the
graph as JSON for the script; `GET /graph/live?page=N` the SSE stream that sends the graph's
version (event `graph-version`) and that page of the edges table (`graph-edges`) when they
change; `POST /graph/edges` creates an edge and `POST /graph/edges/delete` deletes one, both
through `services.nodes.edges` (for htmx they answer with the table's page `?page=N`, else a
redirect to the page).
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
from control_plane.services.nodes.graph import Graph, GraphEdge, graph_marker, visible_graph
from pepeunit_core.db.enums import UnitNodeType

LIVE_INTERVAL_S = 1.0
"""Once a second is enough for edges people draw."""
PAGE_SIZE = 50
CHOICES_SHOWN = 100
"""Nodes listed in each of the edge form's pickers; its search finds the others."""

VERSION_CHARACTERS = 64

router = console_router()

NodeUuid = Annotated[UUID, Form()]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
SearchText = Annotated[str, Query(max_length=256)]


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
    """What the accessible equivalent of the drawing shows: one page of its edges."""

    edges: list[EdgeRow]
    edge_count: int
    number: int
    """The page shown (the last one when the page asked for is past it)."""
    pages: int
    page_size: int
    outputs: list[NodeChoice]
    """The first `CHOICES_SHOWN` Output nodes; the form's search finds the others."""
    inputs: list[NodeChoice]
    output_count: int
    input_count: int
    units: int
    truncated: bool


def graph_table(graph: Graph, number: int) -> GraphTable:
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

    outputs, inputs = of_type(UnitNodeType.OUTPUT), of_type(UnitNodeType.INPUT)

    pages = max(1, -(-len(graph.edges) // PAGE_SIZE))
    number = min(number, pages)
    rows = sorted(map(row, graph.edges), key=lambda found: (found.output.label, found.input.label))
    return GraphTable(
        rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        len(rows),
        number,
        pages,
        PAGE_SIZE,
        outputs[:CHOICES_SHOWN],
        inputs[:CHOICES_SHOWN],
        len(outputs),
        len(inputs),
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
def graph_page(
    request: Request, agent: ConsoleAgent, session: SessionDep, page: PageNumber = 1
) -> Response:
    graph = visible_graph(session, agent)
    return render(
        request,
        "graph/page.html",
        title="Graph",
        table=graph_table(graph, page),
        version=graph.version,
    )


def matching_choices(graph: Graph, kind: UnitNodeType, search: str) -> list[NodeChoice]:
    """The first `CHOICES_SHOWN` nodes of `kind` whose `unit · topic` label holds every word of
    `search` (case-insensitive), by label."""
    words = search.casefold().split()
    names = {unit.uuid: unit.name for unit in graph.units}
    found = (
        NodeChoice(node.uuid, f"{names[node.unit_uuid]} · {node.topic}")
        for node in graph.nodes
        if node.type is kind
    )
    matching = [choice for choice in found if all(w in choice.label.casefold() for w in words)]
    return sorted(matching, key=lambda choice: choice.label)[:CHOICES_SHOWN]


@router.get("/graph/choices")
def node_choices(
    request: Request,
    agent: ConsoleAgent,
    session: SessionDep,
    kind: Annotated[UnitNodeType, Query(alias="type")],
    search: SearchText = "",
) -> Response:
    """The `<option>`s of the edge form's picker for `kind`, narrowed by `search`."""
    choices = matching_choices(visible_graph(session, agent), kind, search)
    return render(request, "graph/choices.html", choices=choices)


@router.get("/graph/data")
def graph_data(agent: ConsoleAgent, session: SessionDep) -> Response:
    return JSONResponse(graph_json(visible_graph(session, agent)))


@router.get("/graph/live")
def graph_live(
    request: Request,
    agent: StreamAgent,
    context: ContextDep,
    version: Annotated[str, Query(max_length=VERSION_CHARACTERS)] = "",
    page: PageNumber = 1,
) -> Response:
    """`version` is the one the page was rendered with: its table is not sent again until
    the graph changes. Each poll reads the cheap `graph_marker`, and the graph itself only
    when the marker moved."""
    marker: tuple[object, ...] | None = None
    shown = version
    events: list[ServerEvent] = []

    def poll() -> list[ServerEvent]:
        nonlocal marker, shown, events
        with context.session_factory() as session:
            current = graph_marker(session)
            if current == marker:
                return events
            graph = visible_graph(session, agent)
        marker = current
        events = [ServerEvent("graph-version", graph.version)]
        if graph.version != shown:  # the table is rendered only when the graph changed
            shown = graph.version
            table = render_text(request, "graph/edges.html", table=graph_table(graph, page))
            events.append(ServerEvent("graph-edges", table))
        return events

    return event_stream(poll, interval_s=LIVE_INTERVAL_S)


def _edges_answer(
    request: Request, agent: Agent, session: SessionDep, page: int, notice: str
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"{request.app.state.context.settings.app_prefix}/graph", 303)
    graph = visible_graph(session, agent)
    return render(request, "graph/edges.html", table=graph_table(graph, page), notice=notice)


@router.post("/graph/edges")
def create_edge(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    session: SessionDep,
    output: NodeUuid,
    input: NodeUuid,
    page: PageNumber = 1,
) -> Response:
    edges.create_edge(
        session, user, UnitNodeEdgeCreate(node_output_uuid=output, node_input_uuid=input)
    )
    return _edges_answer(request, agent, session, page, "The edge is created.")


@router.post("/graph/edges/delete")
def delete_edge(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    session: SessionDep,
    output: NodeUuid,
    input: NodeUuid,
    page: PageNumber = 1,
) -> Response:
    edges.delete_edge(session, user, input, output)
    return _edges_answer(request, agent, session, page, "The edge is deleted.")
