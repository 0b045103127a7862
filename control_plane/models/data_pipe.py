"""DataPipe API schemas: config check issues, read-back query and rows
(docs/pipelines.md#reading-stored-values)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from pipelines.config import AggregationFunction, PolicyType

from .common import OrderByDate, SearchString

RELATIVE_TIME_PATTERN = r"^[0-9]{1,9}[smhdMy]$"


class ConfigIssue(BaseModel):
    """The reference's `{stage, message}`; `message` starts with the stage and field as
    `pepeunit pipelines check` prints them (`Filters.max_rate: …`), and `field` holds it too."""

    stage: str
    message: str
    field: str


class PipeDataFilter(BaseModel):
    """Query of `GET /unit_nodes/get_data_pipe_data/`, with the reference's names."""

    uuid: UUID
    type: PolicyType = Field(description="The policy whose storage is read.")
    search_string: SearchString | None = Field(default=None, description="Substring of state.")
    aggregation_type: list[AggregationFunction] = Field(
        default_factory=lambda: list(AggregationFunction)
    )
    time_window_size: int | None = Field(default=None, ge=0)
    start_agg_window_datetime: datetime | None = None
    end_agg_window_datetime: datetime | None = None
    start_create_datetime: datetime | None = None
    end_create_datetime: datetime | None = None
    relative_time: Annotated[str, Field(pattern=RELATIVE_TIME_PATTERN)] | None = Field(
        default=None, description="<int><s|m|h|d|M|y>: only rows created since then."
    )
    order_by_create_date: OrderByDate = OrderByDate.DESC


class LastValueRead(BaseModel):
    unit_node_uuid: UUID
    state: str | None
    last_update_datetime: datetime


class NRecordsRead(BaseModel):
    id: int
    unit_node_uuid: UUID
    state: str
    state_type: str
    create_datetime: datetime
    max_count: int
    size: int


class TimeWindowRead(BaseModel):
    unit_node_uuid: UUID
    state: str
    state_type: str
    create_datetime: datetime
    expiration_datetime: datetime
    size: int


class AggregationRead(BaseModel):
    unit_node_uuid: UUID
    state: float
    aggregation_type: str
    time_window_size: int
    create_datetime: datetime
    start_window_datetime: datetime
    end_window_datetime: datetime


PipeDataRead = NRecordsRead | TimeWindowRead | AggregationRead | LastValueRead


class PipeDataResult(BaseModel):
    count: int
    pipe_data: list[PipeDataRead]


class RejectedMessageRead(BaseModel):
    received_datetime: datetime
    stage: str
    reason: str
    message: str = Field(description="The start of the payload and the rule it broke.")


class DataPipeRejectionsRead(BaseModel):
    unit_node_uuid: UUID
    rejected_count: int = Field(description="Messages the node's pipeline rejected.")
    rejected_by_reason: dict[str, int] = Field(description="`Stage.reason` -> count.")
    last_rejections: list[RejectedMessageRead] = Field(
        description="The last rejected messages (at most 20), newest first."
    )
