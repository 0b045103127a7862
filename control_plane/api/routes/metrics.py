"""`GET /metrics/`: entity counts, for anyone (docs/operations.md#metrics)."""

from fastapi import APIRouter

from control_plane.api.deps import ContextDep, CurrentAgent, SessionDep
from control_plane.models.metrics import BaseMetrics

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/")
def get_metrics(_agent: CurrentAgent, context: ContextDep, session: SessionDep) -> BaseMetrics:
    return context.metrics.get(session)
