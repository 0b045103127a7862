"""A node's Data page: the stored rows of its pipeline as a chart and a paged table, CSV export
and import, read and written through `services/nodes/pipelines.py` as the `data_pipe` routes do
(the node's creator only, as there).

`GET /nodes/{uuid}/data` is the page; `GET /nodes/{uuid}/data/csv` the ZIP of its CSV (as
`GET /unit_nodes/get_data_pipe_data_csv/{uuid}`); `POST /nodes/{uuid}/data/csv` replaces the
stored rows with an uploaded CSV (as `POST /unit_nodes/set_data_pipe_data_csv`).
"""

import math
from datetime import UTC, datetime
from typing import Annotated, BinaryIO
from uuid import UUID

from fastapi import File, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.api.file_responses import built_file_response
from control_plane.console.auth import ConsoleAgent
from control_plane.console.node_views import chart_data, shown_rows
from control_plane.console.routing import console_router
from control_plane.console.templating import app_prefix, render
from control_plane.context import ControlPlaneContext
from control_plane.models.data_pipe import PipeDataFilter
from control_plane.services.errors import DataPipeError, StoreUnavailableError
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import pipelines
from control_plane.services.store import store_client
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.stored_data.paged_reads import RowPage
from pipelines.config import PolicyType

PAGE_SIZE = 50
CHART_POINTS = 2000
"""The newest rows drawn; the table pages through all of them."""

router = console_router()

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
Imported = Annotated[int | None, Query(ge=0)]


@router.get("/nodes/{uuid}/data")
def node_data(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    page: PageNumber = 1,
    imported: Imported = None,
) -> Response:
    node = node_access.readable_node(session, agent, uuid)
    return _data_page(request, context, session, node, page, imported=imported)


def _data_page(
    request: Request,
    context: ControlPlaneContext,
    session: Session,
    node: UnitNode,
    page: int,
    *,
    imported: int | None = None,
    import_error: str | None = None,
) -> Response:
    values: dict[str, object] = {
        "node": node,
        "unit": session.get(Unit, node.unit_uuid),
        "policy": None,
        "rows": [],
        "count": 0,
        "pages": 1,
        "number": page,
        "chart": None,
        "imported": imported,
        "import_error": import_error,
        "can_export": False,
        "store_problem": None,
    }
    if node.data_pipe_yml is not None:
        policy = pipelines.node_config(node).processing_policy.policy_type
        query = PipeDataFilter(uuid=node.uuid, type=policy)
        now = datetime.now(UTC)
        try:
            with store_client(context.clickhouse) as client:
                offset = (page - 1) * PAGE_SIZE
                count, rows = pipelines.read_pipe_data(
                    session, client, query, RowPage(offset, PAGE_SIZE), now
                )
                newest = (
                    rows
                    if offset == 0 and count <= PAGE_SIZE
                    else pipelines.read_pipe_data(
                        session, client, query, RowPage(0, CHART_POINTS), now
                    )[1]
                )
        except StoreUnavailableError as error:
            values |= {"policy": policy, "store_problem": error.message}
            return render(request, "nodes/data.html", status_code=503, title="Data", **values)
        values |= {
            "policy": policy,
            "rows": shown_rows(rows),
            "count": count,
            "pages": max(1, math.ceil(count / PAGE_SIZE)),
            "chart": chart_data(policy, shown_rows(reversed(newest))),
            "can_export": policy is not PolicyType.LAST_VALUE,
        }
    status = 422 if import_error else 200
    return render(request, "nodes/data.html", status_code=status, title="Data", **values)


@router.get("/nodes/{uuid}/data/csv")
def node_data_csv(
    uuid: UUID, agent: ConsoleAgent, context: ContextDep, session: SessionDep
) -> Response:
    """The ZIP of `<uuid>.csv`, built and sent as the API's export is."""
    node = node_access.readable_node(session, agent, uuid)

    def build(file: BinaryIO) -> None:
        with store_client(context.clickhouse) as client:
            pipelines.export_csv_zip(client, node, datetime.now(UTC), file)

    return built_file_response(build, "application/zip", f"{uuid}.zip")


@router.post("/nodes/{uuid}/data/csv")
def node_data_import(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    data: Annotated[UploadFile, File()],
) -> Response:
    """Replaces the stored rows with the CSV's, once all are valid; a bad CSV is said on the
    page and nothing changes."""
    node = node_access.own_node(session, agent, uuid)
    max_bytes = context.settings.max_csv_import_size * pipelines.MB
    try:
        with store_client(context.clickhouse) as client:
            count = pipelines.import_csv(client, node, data.file, max_bytes, datetime.now(UTC))
    except DataPipeError as error:
        return _data_page(request, context, session, node, 1, import_error=error.message)
    location = f"{app_prefix(request)}/nodes/{uuid}/data?imported={count}"
    return RedirectResponse(location, status_code=303)
