"""`getBaseMetrics`: entity counts, for anyone (REST `GET /metrics/`)."""

import strawberry
from strawberry.types import Info

from control_plane.graphql.context import GraphQLContext
from control_plane.models.metrics import BaseMetrics


@strawberry.experimental.pydantic.type(model=BaseMetrics, all_fields=True)
class BaseMetricsType:
    pass


@strawberry.type
class Query:
    @strawberry.field
    async def get_base_metrics(self, info: Info[GraphQLContext, None]) -> BaseMetricsType:
        app = info.context.app
        metrics = await info.context.call(lambda session, _agent: app.metrics.get(session))
        return BaseMetricsType.from_pydantic(metrics)
