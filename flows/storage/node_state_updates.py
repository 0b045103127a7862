"""The UPDATE of `units_nodes.state` / `last_update_datetime` for a batch of nodes.

Either way the new value only lands if the stored one is not newer, so replays, retries and
out-of-order batches from several processes cannot move a node back in time.

- PostgreSQL: one statement joining the table with the batch sent as one JSON parameter. Binding
  thousands of uuid and timestamp parameters costs more client time than the UPDATE itself;
  JSON is cheap to build and to parse (measured in tests/flows_storage/test_throughput.py).
- Other databases (SQLite): one prepared UPDATE executed for each node (executemany), with
  the model's column types doing the conversions; in process that is fast enough.
"""

import json
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from flows.pipelines.clock import EPOCH
from flows.pipelines.rows import LastValueRow
from pepeunit_core.db.models import UnitNode

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


def _update_postgres(session: Session, values: Sequence[NodeValue]) -> int:
    batch = json.dumps(
        [
            {
                "uuid": str(node),
                "state": row.state,
                "us": (row.last_update_datetime - EPOCH) // _MICROSECOND,
            }
            for node, row in values
        ]
    )
    result = session.execute(_POSTGRES_UPDATE, {"batch": batch})
    return int(result.rowcount)


def _update_each(session: Session, values: Sequence[NodeValue]) -> int:
    result = session.execute(
        _PER_NODE_UPDATE,
        [
            {"node_uuid": node, "new_state": row.state, "new_datetime": row.last_update_datetime}
            for node, row in values
        ],
    )
    return int(result.rowcount)


def update_node_states(session: Session, values: Sequence[NodeValue]) -> int:
    """Applies the batch (one value per node, in uuid order); returns the nodes updated."""
    if session.get_bind().dialect.name == "postgresql":
        return _update_postgres(session, values)
    return _update_each(session, values)


def count_existing_nodes(session: Session, nodes: Sequence[UUID]) -> int:
    existing = 0
    for start in range(0, len(nodes), _IN_CLAUSE_CHUNK):
        chunk = nodes[start : start + _IN_CLAUSE_CHUNK]
        existing += session.execute(
            select(func.count()).select_from(_nodes).where(_nodes.c.uuid.in_(chunk))
        ).scalar_one()
    return existing
