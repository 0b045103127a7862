"""The schema: the root types merged from `fields/*` modules."""

import strawberry
from strawberry.tools import merge_types

from control_plane.graphql.common import NoneType
from control_plane.graphql.errors import error_masking
from control_plane.graphql.fields import metrics
from control_plane.graphql.limits import limit_extensions
from control_plane.graphql.subscriptions import Subscription
from pepeunit_core.settings import Settings

QUERIES: tuple[type, ...] = (metrics.Query,)
MUTATIONS: tuple[type, ...] = ()


@strawberry.type
class _Mutation:
    @strawberry.mutation
    def _placeholder(self) -> NoneType:  # replaced once the first mutation module exists
        return NoneType()


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS) if MUTATIONS else _Mutation,
        subscription=Subscription,
        extensions=[*limit_extensions(settings), error_masking],
    )
