"""The schema: the root types merged from `fields/*` modules."""

import strawberry
from strawberry.tools import merge_types

from control_plane.graphql.errors import error_masking
from control_plane.graphql.fields import (
    dashboards,
    data_pipe,
    metrics,
    permissions,
    registry,
    repos,
    rollouts,
    unit_nodes,
    units,
    users,
)
from control_plane.graphql.limits import limit_extensions
from control_plane.graphql.subscriptions import Subscription
from pepeunit_core.settings import Settings

QUERIES: tuple[type, ...] = (
    users.Query,
    registry.Query,
    repos.Query,
    metrics.Query,
    permissions.Query,
    dashboards.Query,
    units.Query,
    unit_nodes.Query,
    data_pipe.Query,
    rollouts.Query,
)
MUTATIONS: tuple[type, ...] = (
    users.Mutation,
    repos.Mutation,
    registry.Mutation,
    permissions.Mutation,
    dashboards.Mutation,
    units.Mutation,
    unit_nodes.Mutation,
    data_pipe.Mutation,
    rollouts.Mutation,
)


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=Subscription,
        extensions=[*limit_extensions(settings), error_masking],
    )
