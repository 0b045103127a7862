"""`UnitNodeType`, with 1.x's fields: a dashboard panel's nodes are of this type."""

from datetime import datetime
from uuid import UUID

import strawberry

from control_plane.graphql.enums import UnitNodeTypeEnum, VisibilityLevel
from control_plane.models.unit_node import UnitNodeRead


@strawberry.type
class UnitNodeType:
    uuid: UUID
    type: UnitNodeTypeEnum
    visibility_level: VisibilityLevel
    is_rewritable_input: bool
    max_connections: int
    topic_name: str
    last_update_datetime: datetime
    is_data_pipe_active: bool
    data_pipe_yml: str | None
    data_pipe_status: str | None
    """The stored spelling (`Active`, `Inactive`, `Error`), a String as in 1.x."""
    data_pipe_error: str | None
    create_datetime: datetime
    state: str | None
    unit_uuid: UUID
    creator_uuid: UUID

    @classmethod
    def of(cls, node: UnitNodeRead) -> "UnitNodeType":
        """The REST answer of a node, field by field."""
        return cls(
            uuid=node.uuid,
            type=node.type,
            visibility_level=node.visibility_level,
            is_rewritable_input=node.is_rewritable_input,
            max_connections=node.max_connections,
            topic_name=node.topic_name,
            last_update_datetime=node.last_update_datetime,
            is_data_pipe_active=node.is_data_pipe_active,
            data_pipe_yml=node.data_pipe_yml,
            data_pipe_status=node.data_pipe_status.value if node.data_pipe_status else None,
            data_pipe_error=node.data_pipe_error,
            create_datetime=node.create_datetime,
            state=node.state,
            unit_uuid=node.unit_uuid,
            creator_uuid=node.creator_uuid,  # type: ignore[arg-type]  # nodes cascade with users
        )
