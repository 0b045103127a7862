"""`GET /metrics/`: how many of each entity the instance holds (reference §2.8)."""

from pydantic import BaseModel


class BaseMetrics(BaseModel):
    user_count: int
    repository_registry_count: int
    repo_count: int
    unit_count: int
    unit_node_count: int
    unit_node_edge_count: int
