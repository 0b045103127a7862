"""Per-node record of rejected messages; data pipe status of existing nodes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

The dataflow stores, per node, how many messages the pipeline rejected and the last reasons
(issue 12.11). `data_pipe_status` was left at Inactive by most writers: it is set here from the
node's settings as the services now keep it (issue 12.10).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units_nodes") as batch:
        batch.add_column(
            sa.Column(
                "data_pipe_rejected_count",
                sa.BigInteger(),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column("data_pipe_rejections", sa.Text(), nullable=True))
    op.execute(
        "UPDATE units_nodes SET data_pipe_status = 'Inactive', data_pipe_error = NULL"
        " WHERE NOT is_data_pipe_active"
    )
    op.execute(
        "UPDATE units_nodes SET data_pipe_status = 'Active', data_pipe_error = NULL"
        " WHERE is_data_pipe_active AND data_pipe_yml IS NOT NULL"
    )
    op.execute(
        "UPDATE units_nodes SET data_pipe_status = 'Error',"
        " data_pipe_error = 'The data pipe is active but has no config'"
        " WHERE is_data_pipe_active AND data_pipe_yml IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("units_nodes") as batch:
        batch.drop_column("data_pipe_rejections")
        batch.drop_column("data_pipe_rejected_count")
