"""The counter the dataflow watches to notice pipeline and edge changes.

Whoever changes a pipeline config or an edge calls `bump_dataflow_config_version` in the same
transaction. The dataflow polls the version; on PostgreSQL it can also LISTEN on
`DATAFLOW_CONFIG_CHANNEL`, whose notifications are delivered when that transaction commits.
"""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .models import DATAFLOW_CONFIG_VERSION_ROW_ID, DataflowConfigVersion
from .types import utc_now

DATAFLOW_CONFIG_CHANNEL = "pepeunit_dataflow_config"


def bump_dataflow_config_version(session: Session) -> int:
    """Increment the version inside the caller's transaction and return the new value."""
    version = session.execute(
        update(DataflowConfigVersion)
        .where(DataflowConfigVersion.id == DATAFLOW_CONFIG_VERSION_ROW_ID)
        .values(version=DataflowConfigVersion.version + 1, updated_at=utc_now())
        .returning(DataflowConfigVersion.version)
    ).scalar_one()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(DATAFLOW_CONFIG_CHANNEL, str(version))))
    return version


def read_dataflow_config_version(session: Session) -> int:
    return session.execute(
        select(DataflowConfigVersion.version).where(
            DataflowConfigVersion.id == DATAFLOW_CONFIG_VERSION_ROW_ID
        )
    ).scalar_one()
