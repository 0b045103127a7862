"""Rows and node records for storage tests."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import UnitNode
from pepeunit_core.retry import RetryPolicy
from pepeunit_core.stored_data.rows import IngestedRow, StoredRow
from pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow
from tests.pepeunit_core.builders import add_unit_tree

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
FAST_RETRY = RetryPolicy(initial_delay_s=0.01, max_delay_s=0.05)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_node() -> str:
    return str(uuid4())


def n_record(node: str, seconds: float, state: str, cap: int, ingest_id: int) -> IngestedRow:
    row = NRecordsRow(node, state, "Text", at(seconds), cap, len(state.encode()))
    return IngestedRow(ingest_id, row)


def ingested(rows: Iterable[StoredRow]) -> list[IngestedRow]:
    """`rows` as the sink hands them to a writer, numbered from 1 as their messages."""
    return [IngestedRow(number, row) for number, row in enumerate(rows, 1)]


def recent(seconds: float = 0) -> datetime:
    """A time `seconds` from now, in whole milliseconds.

    TimeWindow rows need times near the real clock: ClickHouse's TTL drops rows whose
    expiration has passed, soon after they are inserted.
    """
    now = datetime.now(UTC) + timedelta(seconds=seconds)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def window_record(
    node: str, created: datetime, state: str, window_s: int, ingest_id: int
) -> IngestedRow:
    expiration = (created + timedelta(seconds=window_s)).replace(microsecond=0)
    row = TimeWindowRow(node, state, "Number", created, expiration, len(state.encode()))
    return IngestedRow(ingest_id, row)


def aggregation_record(node: str, start_s: int, window_s: int, function: str, value: float):
    start, end = at(start_s), at(start_s + window_s)
    return IngestedRow(0, AggregationRow(node, value, function, window_s, end, start, end))


def add_nodes(session_factory: sessionmaker[Session], count: int) -> list[str]:
    """`count` output nodes of one unit; their uuids."""
    with session_factory() as session, session.begin():
        user, unit = add_unit_tree(session)
        uuids = [uuid4() for _ in range(count)]
        session.execute(
            insert(UnitNode),
            [
                {
                    "uuid": node,
                    "type": UnitNodeType.OUTPUT,
                    "topic_name": f"value_{index}/pepeunit",
                    "creator_uuid": user.uuid,
                    "unit_uuid": unit.uuid,
                    "create_datetime": T0 - timedelta(days=1),
                    "last_update_datetime": T0 - timedelta(days=1),
                }
                for index, node in enumerate(uuids)
            ],
        )
    return [str(node) for node in uuids]


def physical_rows(client, table: str, nodes: Sequence[str] = ()) -> int:
    """Rows stored, duplicates not yet merged included."""
    where = " WHERE toString(unit_node_uuid) IN {nodes:Array(String)}" if nodes else ""
    return int(client.command(f"SELECT count() FROM {table}{where}", parameters={"nodes": nodes}))
