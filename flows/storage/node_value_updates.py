"""The UPDATE of `units_nodes.state` / `last_update_datetime` for a batch of nodes.

Both forms below set a node's value only if the stored one is not newer, so replays, retries
and out-of-order batches from several processes cannot move a node back in time.

- PostgreSQL: one statement joining the table with the batch sent as one JSON parameter. Binding
  thousands of uuid and timestamp parameters costs more client time than the UPDATE itself;
  JSON is cheap to build and to parse (measured in tests/flows_storage/test_throughput.py).
- Other databases (SQLite): one prepared UPDATE executed for each node (executemany), with
  the model's column types doing the conversions; in process that is fast enough.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import Executable, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from pepeunit_core.db.models import UnitNode
from pipelines.clock import EPOCH
from pipelines.rows import LastValueRow

NodeValue = tuple[UUID, LastValueRow]
"""A node's parsed uuid and its newest row in the batch."""

_MICROSECOND = timedelta(microseconds=1)
_IN_CLAUSE_CHUNK = 5000

_POSTGRES_UPDATE = text("""
UPDATE units_nodes AS node
SET state = batch.state,
    last_update_datetime = timestamptz '1970-01-01 00:00:00+00' + batch.us * interval '1 us'
FROM json_to_recordset(CAST(:batch AS json)) AS batch(uuid uuid, state text, us bigint)
WHERE node.uuid = batch.uuid
    AND (node.last_update_datetime IS NULL
        OR node.last_update_datetime
            <= timestamptz '1970-01-01 00:00:00+00' + batch.us * interval '1 us')
""")

_nodes = UnitNode.__table__
_PER_NODE_UPDATE = (
    update(_nodes)
    .where(_nodes.c.uuid == bindparam("node_uuid"))
    .where(
        or_(
            _nodes.c.last_update_datetime.is_(None),
            _nodes.c.last_update_datetime <= bindparam("new_datetime"),
        )
    )
    .values(state=bindparam("new_state"), last_update_datetime=bindparam("new_datetime"))
)


@dataclass(frozen=True, slots=True)
class NodeValueUpdate:
    """A batch's UPDATE with its parameters, built once and run on every attempt."""

    statement: Executable
    parameters: dict[str, str] | list[dict[str, object]]

    def run(self, session: Session) -> int:
        """Applies the batch; returns the number of nodes updated."""
        result = session.execute(self.statement, self.parameters)
        return int(result.rowcount)


def json_join_update(values: Sequence[NodeValue]) -> NodeValueUpdate:
    """One UPDATE joining the table with the batch as JSON (PostgreSQL only)."""
    batch = [
        {
            "uuid": str(node),
            "state": row.state,
            "us": (row.last_update_datetime - EPOCH) // _MICROSECOND,
        }
        for node, row in values
    ]
    return NodeValueUpdate(_POSTGRES_UPDATE, {"batch": json.dumps(batch, ensure_ascii=False)})


def per_node_update(values: Sequence[NodeValue]) -> NodeValueUpdate:
    """One prepared UPDATE run for each node (executemany), on any database."""
    parameters: list[dict[str, object]] = [
        {"node_uuid": node, "new_state": row.state, "new_datetime": row.last_update_datetime}
        for node, row in values
    ]
    return NodeValueUpdate(_PER_NODE_UPDATE, parameters)


def node_value_update(dialect_name: str, values: Sequence[NodeValue]) -> NodeValueUpdate:
    """The UPDATE for one value per node (give them in uuid order, so that concurrent writers
    lock rows in the same order)."""
    if dialect_name == "postgresql":
        return json_join_update(values)
    return per_node_update(values)


def count_existing_nodes(session: Session, nodes: Sequence[UUID]) -> int:
    existing = 0
    for start in range(0, len(nodes), _IN_CLAUSE_CHUNK):
        chunk = nodes[start : start + _IN_CLAUSE_CHUNK]
        existing += session.execute(
            select(func.count()).select_from(_nodes).where(_nodes.c.uuid.in_(chunk))
        ).scalar_one()
    return existing
