"""The schema: the root types merged from `fields/*` modules."""

import strawberry
from strawberry.tools import merge_types

from control_plane.graphql.common import NoneType
from control_plane.graphql.errors import error_masking
from control_plane.graphql.fields import data_pipe, metrics, unit_nodes, units

QUERIES: tuple[type, ...] = (metrics.Query, units.Query, unit_nodes.Query, data_pipe.Query)
MUTATIONS: tuple[type, ...] = (units.Mutation, unit_nodes.Mutation, data_pipe.Mutation)


@strawberry.type
class _Mutation:
    @strawberry.mutation
    def _placeholder(self) -> NoneType:  # replaced once the first mutation module exists
        return NoneType()


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS) if MUTATIONS else _Mutation,
        extensions=[error_masking()],
    )
