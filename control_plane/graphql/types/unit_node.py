"""`UnitNodeType`, with 1.x's fields: a dashboard panel's nodes are of this type."""

import strawberry

from control_plane.graphql import enums  # noqa: F401  (registers the enums the type uses)
from control_plane.models.unit_node import UnitNodeRead


@strawberry.experimental.pydantic.type(model=UnitNodeRead, name="UnitNodeType")
class UnitNodeType:
    uuid: strawberry.auto
    type: strawberry.auto
    visibility_level: strawberry.auto
    is_rewritable_input: strawberry.auto
    max_connections: strawberry.auto
    topic_name: strawberry.auto
    last_update_datetime: strawberry.auto
    is_data_pipe_active: strawberry.auto
    data_pipe_yml: strawberry.auto
    data_pipe_status: str | None
    """The stored spelling (`Active`, `Inactive`, `Error`), a String as in 1.x."""
    data_pipe_error: strawberry.auto
    create_datetime: strawberry.auto
    state: strawberry.auto
    unit_uuid: strawberry.auto
    creator_uuid: strawberry.auto
