"""The time of a unit's last state report, apart from its last change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

`units.last_update_datetime` moves both on a state report and on an edit of the unit, so a unit
edited a moment ago looked online (issue 14). State reports now set
`last_state_report_datetime` too; units that have reported get their last update time as
the best estimate.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(
            sa.Column("last_state_report_datetime", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE units SET last_state_report_datetime = last_update_datetime"
        " WHERE unit_state_dict IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("last_state_report_datetime")
