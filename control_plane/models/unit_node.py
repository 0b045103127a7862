"""Unit node and edge API schemas, with the reference's names (UnitNodeRead, ...)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipeline_store import data_pipe_state, stored_config_yaml

from .common import NulFreeText, OrderByDate, SearchString

MAX_STATE_CHARS = 65536
MAX_CONNECTIONS_LIMIT = 2**31 - 1


class UnitNodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    type: UnitNodeType
    visibility_level: VisibilityLevel
    is_rewritable_input: bool
    max_connections: int
    topic_name: str
    last_update_datetime: datetime
    is_data_pipe_active: bool
    data_pipe_yml: str | None = Field(description="The pipeline config, as YAML.")
    data_pipe_status: DataPipeStatus | None
    data_pipe_error: str | None
    create_datetime: datetime
    state: str | None
    unit_uuid: UUID
    creator_uuid: UUID | None

    @model_validator(mode="before")
    @classmethod
    def _pipeline_of_row(cls, data: Any) -> Any:
        """Rows store the config as JSON (as the reference does); the status follows from the
        settings the dataflow runs, so a row written by an older version still reads right."""
        if isinstance(data, UnitNode):
            fields = {name: getattr(data, name) for name in cls.model_fields}
            status, error = data_pipe_state(data.is_data_pipe_active, data.data_pipe_yml)
            stored = data.data_pipe_yml
            return fields | {
                "data_pipe_yml": stored_config_yaml(stored) if stored is not None else None,
                "data_pipe_status": status,
                "data_pipe_error": error,
            }
        return data


class UnitNodesResult(BaseModel):
    count: int
    unit_nodes: list[UnitNodeRead]


class UnitNodeFilter(BaseModel):
    """Query filters of `GET /unit_nodes`; list filters repeat (`type=Input&type=Output`)."""

    uuids: list[UUID] = Field(default_factory=list, max_length=500)
    unit_node_uuids: list[UUID] = Field(
        default_factory=list, max_length=500, description="Same as `uuids`."
    )
    unit_uuid: UUID | None = None
    search_string: SearchString | None = Field(default=None, description="Matched on the topic.")
    type: list[UnitNodeType] = Field(default_factory=list)
    visibility_level: list[VisibilityLevel] = Field(default_factory=list)
    output_uuid: UUID | None = Field(
        default=None, description="Only Input nodes linked by an edge from this Output node."
    )
    order_by_create_date: OrderByDate = OrderByDate.DESC


class UnitNodeUpdate(BaseModel):
    """Fields left out (or null) stay as they are."""

    visibility_level: VisibilityLevel | None = None
    is_rewritable_input: bool | None = None
    is_data_pipe_active: bool | None = None
    max_connections: Annotated[int, Field(ge=1, le=MAX_CONNECTIONS_LIMIT)] | None = None


class UnitNodeSetState(BaseModel):
    state: Annotated[NulFreeText, StringConstraints(max_length=MAX_STATE_CHARS)]


class UnitNodeEdgeCreate(BaseModel):
    node_output_uuid: UUID
    node_input_uuid: UUID


class UnitNodeEdgeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    node_output_uuid: UUID
    node_input_uuid: UUID
