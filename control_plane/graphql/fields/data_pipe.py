"""A node's DataPipe (REST `/unit_nodes/…data_pipe…`): check, set and read its config, read,
import and delete its stored data. Files come as GraphQL multipart uploads."""

from datetime import UTC, datetime
from typing import Annotated, BinaryIO
from uuid import UUID

import strawberry
from sqlalchemy.orm import Session
from strawberry.file_uploads import Upload

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import (
    AggregationFunctions,
    DataPipeStage,
    OrderByDate,
    ProcessingPolicyType,
    TypeInputValue,
)
from control_plane.graphql.uploads import uploaded_file
from control_plane.graphql.validation import validated
from control_plane.models.data_pipe import (
    AggregationRead,
    ConfigIssue,
    LastValueRead,
    NRecordsRead,
    PipeDataFilter,
    PipeDataRead,
    TimeWindowRead,
)
from control_plane.security import Agent
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import pipelines
from pepeunit_core.stored_data.paged_reads import RowPage
from pipelines.config import AggregationFunction

_STAGES = {stage.value: stage for stage in DataPipeStage}
_NEAREST_STAGE = {"Alerts": DataPipeStage.PROCESSING_POLICY}
"""Stages 1.x's enum lacks: alerts run on the processed values; the others (`File`,
`Binding`) are about the whole file, before the first stage."""


def stage_of(issue: ConfigIssue) -> DataPipeStage:
    return _STAGES.get(issue.stage) or _NEAREST_STAGE.get(issue.stage, DataPipeStage.ACTIVE_PERIOD)


@strawberry.type
class DataPipeValidationErrorType:
    stage: DataPipeStage
    message: str


@strawberry.type
class LastValueType:
    unit_node_uuid: UUID
    state: str
    last_update_datetime: datetime


@strawberry.type
class NRecordsType:
    unit_node_uuid: UUID
    state: str
    state_type: TypeInputValue
    create_datetime: datetime
    max_count: int
    size: int


@strawberry.type
class TimeWindowType:
    unit_node_uuid: UUID
    state: str
    state_type: TypeInputValue
    create_datetime: datetime
    expiration_datetime: datetime
    size: int


@strawberry.type
class AggregationType:
    unit_node_uuid: UUID
    state: float
    aggregation_type: AggregationFunctions
    time_window_size: int
    create_datetime: datetime
    start_window_datetime: datetime


PipeData = Annotated[
    NRecordsType | TimeWindowType | AggregationType | LastValueType,
    strawberry.union("NRecordsTypeTimeWindowTypeAggregationTypeLastValueType"),
]


@strawberry.type
class PipeDataResultType:
    count: int
    pipe_data: list[PipeData]


def _pipe_data(
    row: PipeDataRead,
) -> NRecordsType | TimeWindowType | AggregationType | LastValueType:
    """The 1.x type of a REST row (1.x has no `id` on NRecords nor `endWindowDatetime`)."""
    match row:
        case LastValueRead():
            return LastValueType(
                unit_node_uuid=row.unit_node_uuid,
                state=row.state or "",  # a node without a value has no LastValue row
                last_update_datetime=row.last_update_datetime,
            )
        case NRecordsRead():
            return NRecordsType(
                unit_node_uuid=row.unit_node_uuid,
                state=row.state,
                state_type=TypeInputValue(row.state_type),
                create_datetime=row.create_datetime,
                max_count=row.max_count,
                size=row.size,
            )
        case TimeWindowRead():
            return TimeWindowType(
                unit_node_uuid=row.unit_node_uuid,
                state=row.state,
                state_type=TypeInputValue(row.state_type),
                create_datetime=row.create_datetime,
                expiration_datetime=row.expiration_datetime,
                size=row.size,
            )
        case AggregationRead():
            return AggregationType(
                unit_node_uuid=row.unit_node_uuid,
                state=row.state,
                aggregation_type=AggregationFunction(row.aggregation_type),
                time_window_size=row.time_window_size,
                create_datetime=row.create_datetime,
                start_window_datetime=row.start_window_datetime,
            )


@strawberry.input
class DataPipeFilterInput(PaginationInput):
    uuid: UUID
    type: ProcessingPolicyType
    search_string: str | None = None
    aggregation_type: list[AggregationFunctions] | None = strawberry.field(
        default_factory=lambda: list(AggregationFunction)
    )
    time_window_size: int | None = None
    start_agg_window_datetime: datetime | None = None
    end_agg_window_datetime: datetime | None = None
    start_create_datetime: datetime | None = None
    end_create_datetime: datetime | None = None
    relative_time: str | None = None
    order_by_create_date: OrderByDate | None = OrderByDate.desc


def _config_issues(upload: BinaryIO, max_payload_size: int) -> list[ConfigIssue]:
    return pipelines.check_config(pipelines.read_config_upload(upload), max_payload_size)


@strawberry.type
class Query:
    @strawberry.field
    async def check_data_pipe_config(
        self, info: GraphQLInfo, file: Upload
    ) -> list[DataPipeValidationErrorType]:
        """REST `POST /unit_nodes/check_data_pipe_config`: `[]` when the config is valid; a
        stage 1.x's enum lacks is shown as the nearest one (docs/graphql.md)."""
        upload = uploaded_file(file)
        max_payload = info.context.app.settings.mqtt_max_payload_bytes
        issues = await info.context.call(
            lambda _session, _agent: _config_issues(upload, max_payload)
        )
        return [
            DataPipeValidationErrorType(stage=stage_of(issue), message=issue.message)
            for issue in issues
        ]

    @strawberry.field
    async def get_data_pipe_config(self, info: GraphQLInfo, uuid: UUID) -> str:
        """The config as YAML text."""
        return await info.context.call(
            lambda session, agent: pipelines.config_yaml(
                node_access.readable_node(session, agent, uuid)
            )
        )

    @strawberry.field
    async def get_pipe_data(
        self, info: GraphQLInfo, filters: DataPipeFilterInput
    ) -> PipeDataResultType:
        """REST `GET /unit_nodes/get_data_pipe_data/`: the union member of `filters.type`."""
        settings = info.context.app.settings
        clickhouse = info.context.app.clickhouse

        def read(session: Session, agent: Agent) -> tuple[int, list[PipeDataRead]]:
            page = filters.page(settings)
            query = validated(PipeDataFilter, "filters", filters)
            node_access.readable_node(session, agent, query.uuid)
            with clickhouse.client() as client:
                return pipelines.read_pipe_data(
                    session, client, query, RowPage(page.offset, page.limit), datetime.now(UTC)
                )

        count, rows = await info.context.call(read)
        return PipeDataResultType(count=count, pipe_data=[_pipe_data(row) for row in rows])


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def set_data_pipe_config(self, info: GraphQLInfo, uuid: UUID, file: Upload) -> NoneType:
        upload = uploaded_file(file)
        max_payload = info.context.app.settings.mqtt_max_payload_bytes

        def set_config(session: Session, agent: Agent) -> None:
            node = node_access.own_node(session, agent, uuid)
            document = pipelines.read_config_upload(upload)
            pipelines.set_config(session, node, document, max_payload)

        await info.context.call(set_config)
        return NoneType()

    @strawberry.mutation
    async def set_data_pipe_data_csv(self, info: GraphQLInfo, uuid: UUID, file: Upload) -> NoneType:
        """Replaces the node's stored data with the CSV's rows (REST
        `POST /unit_nodes/set_data_pipe_data_csv`, with its size limit)."""
        upload = uploaded_file(file)
        app = info.context.app

        def import_csv(session: Session, agent: Agent) -> None:
            node = node_access.own_node(session, agent, uuid)
            max_bytes = app.settings.max_csv_import_size * pipelines.MB
            with app.clickhouse.client() as client:
                pipelines.import_csv(client, node, upload, max_bytes, datetime.now(UTC))

        await info.context.call(import_csv)
        return NoneType()

    @strawberry.mutation
    async def delete_data_pipe_data(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        clickhouse = info.context.app.clickhouse

        def delete(session: Session, agent: Agent) -> None:
            node_access.own_node(session, agent, uuid)
            with clickhouse.client() as client:
                pipelines.delete_data(client, uuid)

        await info.context.call(delete)
        return NoneType()
