"""`GET /metrics/` (docs/operations.md#metrics): entity counts, recounted at most every
`PU_METRICS_CACHE_SECONDS` since anyone, anonymous included, may ask."""

import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.models.metrics import BaseMetrics
from pepeunit_core.db.models import Repo, RepositoryRegistry, Unit, UnitNode, UnitNodeEdge, User

_COUNTED = {
    "user_count": User,
    "repository_registry_count": RepositoryRegistry,
    "repo_count": Repo,
    "unit_count": Unit,
    "unit_node_count": UnitNode,
    "unit_node_edge_count": UnitNodeEdge,
}


def count_entities(session: Session) -> BaseMetrics:
    counts = {
        name: session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in _COUNTED.items()
    }
    return BaseMetrics(**counts)


class CachedMetrics:
    """The last counts and when they were made; one per app, shared by its request threads."""

    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._value: BaseMetrics | None = None
        self._made_at = 0.0

    def get(self, session: Session) -> BaseMetrics:
        with self._lock:
            now = self._clock()
            if self._value is None or now - self._made_at >= self._max_age:
                self._value = count_entities(session)
                self._made_at = now
            return self._value
