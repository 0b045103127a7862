"""`GET /metrics/`: how many of each entity the instance holds (docs/operations.md#metrics)."""

from pydantic import BaseModel


class BaseMetrics(BaseModel):
    user_count: int
    repository_registry_count: int
    repo_count: int
    unit_count: int
    unit_node_count: int
    unit_node_edge_count: int
