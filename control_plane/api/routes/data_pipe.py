"""`/unit_nodes/…data_pipe…`: a node's DataPipe config and stored data
(docs/pipelines.md#reading-stored-values).

Anyone may check a config; the node's creator sets it, imports and deletes data; the creator
or the node's own unit reads the config and the data.
"""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from control_plane.api.deps import ClickHouseDep, CurrentAgent, SessionDep, SettingsDep
from control_plane.api.error_responses import STORE_ERRORS
from control_plane.api.file_responses import built_file_response, file_response
from control_plane.api.pagination import PageDep
from control_plane.models.data_pipe import (
    ConfigIssue,
    DataPipeRejectionsRead,
    PipeDataFilter,
    PipeDataResult,
)
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import pipelines
from pepeunit_core.stored_data.paged_reads import RowPage

router = APIRouter(prefix="/unit_nodes", tags=["unit_nodes"])


Upload = Annotated[UploadFile, File(description="The file, as multipart field `data`.")]


@router.post("/check_data_pipe_config")
def check_data_pipe_config(
    data: Upload, _agent: CurrentAgent, settings: SettingsDep
) -> list[ConfigIssue]:
    """Issues of a YAML config, `[{stage, message}]`; empty when it is valid."""
    document = pipelines.read_config_upload(data.file)
    return pipelines.check_config(document, settings.mqtt_max_payload_bytes)


@router.post("/set_data_pipe_config", status_code=status.HTTP_204_NO_CONTENT)
def set_data_pipe_config(
    uuid: UUID, data: Upload, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> None:
    node = node_access.own_node(session, agent, uuid)
    document = pipelines.read_config_upload(data.file)
    pipelines.set_config(session, node, document, settings.mqtt_max_payload_bytes)


@router.get(
    "/get_data_pipe_config/{uuid}",
    response_class=Response,
    responses=file_response(
        "The node's pipeline config, as YAML.", "application/x-yaml", binary=False
    ),
)
def get_data_pipe_config(uuid: UUID, agent: CurrentAgent, session: SessionDep) -> Response:
    node = node_access.readable_node(session, agent, uuid)
    return Response(
        pipelines.config_yaml(node),
        media_type="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{uuid}.yaml"'},
    )


@router.get("/get_data_pipe_rejections/{uuid}")
def get_data_pipe_rejections(
    uuid: UUID, agent: CurrentAgent, session: SessionDep
) -> DataPipeRejectionsRead:
    """How many messages the node's pipeline rejected (in total and per rule) and the last
    ones with the reason, as the dataflow stored them (within about a second)."""
    node = node_access.readable_node(session, agent, uuid)
    return pipelines.rejections(node)


@router.get("/get_data_pipe_data/", responses=STORE_ERRORS)
def get_data_pipe_data(
    query: Annotated[PipeDataFilter, Query()],
    page: PageDep,
    agent: CurrentAgent,
    session: SessionDep,
    clickhouse: ClickHouseDep,
) -> PipeDataResult:
    node_access.readable_node(session, agent, query.uuid)
    count, rows = pipelines.read_pipe_data(
        session, clickhouse, query, RowPage(page.offset, page.limit), datetime.now(UTC)
    )
    return PipeDataResult(count=count, pipe_data=rows)


@router.get(
    "/get_data_pipe_data_csv/{uuid}",
    response_class=StreamingResponse,
    responses=file_response("A ZIP holding `<uuid>.csv`.", "application/zip") | STORE_ERRORS,
)
def get_data_pipe_data_csv(
    uuid: UUID, agent: CurrentAgent, session: SessionDep, clickhouse: ClickHouseDep
) -> StreamingResponse:
    """A ZIP holding `<uuid>.csv` with the node's rows, oldest first."""
    node = node_access.readable_node(session, agent, uuid)
    return built_file_response(
        lambda file: pipelines.export_csv_zip(clickhouse, node, datetime.now(UTC), file),
        "application/zip",
        f"{uuid}.zip",
    )


@router.post(
    "/set_data_pipe_data_csv", status_code=status.HTTP_204_NO_CONTENT, responses=STORE_ERRORS
)
def set_data_pipe_data_csv(
    uuid: UUID,
    data: Upload,
    agent: CurrentAgent,
    session: SessionDep,
    settings: SettingsDep,
    clickhouse: ClickHouseDep,
) -> None:
    """Replaces the node's stored data with the CSV's rows, once all of them are valid; a CSV
    larger than PU_MAX_CSV_IMPORT_SIZE MB is refused."""
    node = node_access.own_node(session, agent, uuid)
    max_bytes = settings.max_csv_import_size * pipelines.MB
    pipelines.import_csv(clickhouse, node, data.file, max_bytes, datetime.now(UTC))


@router.delete(
    "/delete_data_pipe_data/{uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=STORE_ERRORS
)
def delete_data_pipe_data(
    uuid: UUID, agent: CurrentAgent, session: SessionDep, clickhouse: ClickHouseDep
) -> None:
    node_access.own_node(session, agent, uuid)
    pipelines.delete_data(clickhouse, uuid)
