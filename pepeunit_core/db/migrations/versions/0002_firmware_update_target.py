"""The commit an Update command asked a unit to run

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

The dataflow compares a unit's reported `pu_commit_version` with it to move the firmware update
status from RequestSent to Success, without resolving versions in git itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("firmware_update_target_commit", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("firmware_update_target_commit")
