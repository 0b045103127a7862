"""Prepares a `pepeunit api` data dir in a process of its own (chdb lets a process open one
data path, and the test process has its own): migrated databases, one unit with a TimeWindow
(one day) node, and `rows` stored rows in that node, inserted by ClickHouse itself.

    python -m tests.control_plane.seed_data_dir DATA_DIR ROWS   -> prints {"node", "owner"}
"""

import json
import sys
from pathlib import Path
from uuid import UUID

from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import UnitNode
from pepeunit_core.migrate import migrate_clickhouse
from pepeunit_core.settings import Settings
from tests.flows.support import pipeline_config, seed_nodes

DAY = 86_400
ROW_SPACING_MS = 50
"""1 000 000 rows span 14 hours: all of them lie in a one-day window ending now."""

INSERT_ROWS = f"""
INSERT INTO window_entry
SELECT {{node:UUID}}, toString(number), 'Number', created, toDateTime(created + {DAY}),
    length(toString(number)), number
FROM (
    SELECT number,
        now64(3, 'UTC') - toIntervalHour(20) + toIntervalMillisecond(number * {ROW_SPACING_MS})
            AS created
    FROM numbers({{rows:UInt64}})
)
"""


def seed(data_dir: Path, rows: int) -> dict[str, str]:
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_sqlalchemy_url
    config = pipeline_config({"policy_type": "TimeWindow", "time_window_size": DAY})
    node = seed_nodes(url, {"window": config})["window"]
    with make_session_factory(make_engine(url))() as session:
        owner = session.get_one(UnitNode, UUID(node)).creator_uuid
    migrate_clickhouse(settings.resolved_clickhouse_url)
    client = make_clickhouse_client(settings.resolved_clickhouse_url)
    try:
        client.command(INSERT_ROWS, parameters={"node": node, "rows": rows})
    finally:
        client.close()
    return {"node": node, "owner": str(owner)}


if __name__ == "__main__":
    print(json.dumps(seed(Path(sys.argv[1]), int(sys.argv[2]))))
