"""Alert outbox, Telegram verification codes, dashboards

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

`alert_events` is the notifier's outbox (the dataflow writes, the notifier sends);
`telegram_verification_codes` replaces the reference's Redis codes; `dashboards`,
`dashboard_panels` and `mtm_panels_unit_nodes` are the reference's Grafana entities.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboards",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("grafana_uuid", sa.Uuid(), nullable=False),
        sa.Column("dashboard_url", sa.String(), nullable=True),
        sa.Column("inc_last_version", sa.Integer(), nullable=True),
        sa.Column("sync_status", sa.String(length=32), nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("sync_last_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_dashboards_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_dashboards")),
    )
    with op.batch_alter_table("dashboards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboards_creator_uuid"), ["creator_uuid"], unique=False
        )

    op.create_table(
        "telegram_verification_codes",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=False),
        sa.Column("expiration_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_uuid"],
            ["users.uuid"],
            name=op.f("fk_telegram_verification_codes_user_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_telegram_verification_codes")),
    )
    with op.batch_alter_table("telegram_verification_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_verification_codes_user_uuid"), ["user_uuid"], unique=False
        )

    op.create_table(
        "dashboard_panels",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dashboard_uuid", sa.Uuid(), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_dashboard_panels_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dashboard_uuid"],
            ["dashboards.uuid"],
            name=op.f("fk_dashboard_panels_dashboard_uuid_dashboards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_dashboard_panels")),
    )
    with op.batch_alter_table("dashboard_panels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_panels_creator_uuid"), ["creator_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dashboard_panels_dashboard_uuid"), ["dashboard_uuid"], unique=False
        )

    op.create_table(
        "alert_events",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("unit_node_uuid", sa.Uuid(), nullable=False),
        sa.Column("rule_name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("event_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "delivery_status", sa.String(length=32), server_default="Pending", nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_node_uuid"],
            ["units_nodes.uuid"],
            name=op.f("fk_alert_events_unit_node_uuid_units_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_alert_events")),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_events_delivery_status"), ["delivery_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alert_events_unit_node_uuid"), ["unit_node_uuid"], unique=False
        )

    op.create_table(
        "mtm_panels_unit_nodes",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("unit_node_uuid", sa.Uuid(), nullable=False),
        sa.Column("dashboard_panels_uuid", sa.Uuid(), nullable=False),
        sa.Column("is_last_data", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_forced_to_json", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_mtm_panels_unit_nodes_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dashboard_panels_uuid"],
            ["dashboard_panels.uuid"],
            name=op.f("fk_mtm_panels_unit_nodes_dashboard_panels_uuid_dashboard_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_node_uuid"],
            ["units_nodes.uuid"],
            name=op.f("fk_mtm_panels_unit_nodes_unit_node_uuid_units_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_mtm_panels_unit_nodes")),
        sa.UniqueConstraint(
            "unit_node_uuid",
            "dashboard_panels_uuid",
            name=op.f("uq_mtm_panels_unit_nodes_unit_node_uuid_dashboard_panels_uuid"),
        ),
    )
    with op.batch_alter_table("mtm_panels_unit_nodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mtm_panels_unit_nodes_creator_uuid"), ["creator_uuid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mtm_panels_unit_nodes_dashboard_panels_uuid"),
            ["dashboard_panels_uuid"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_mtm_panels_unit_nodes_unit_node_uuid"), ["unit_node_uuid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mtm_panels_unit_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mtm_panels_unit_nodes_unit_node_uuid"))
        batch_op.drop_index(batch_op.f("ix_mtm_panels_unit_nodes_dashboard_panels_uuid"))
        batch_op.drop_index(batch_op.f("ix_mtm_panels_unit_nodes_creator_uuid"))

    op.drop_table("mtm_panels_unit_nodes")
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_events_unit_node_uuid"))
        batch_op.drop_index(batch_op.f("ix_alert_events_delivery_status"))

    op.drop_table("alert_events")
    with op.batch_alter_table("dashboard_panels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_panels_dashboard_uuid"))
        batch_op.drop_index(batch_op.f("ix_dashboard_panels_creator_uuid"))

    op.drop_table("dashboard_panels")
    with op.batch_alter_table("telegram_verification_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_verification_codes_user_uuid"))

    op.drop_table("telegram_verification_codes")
    with op.batch_alter_table("dashboards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboards_creator_uuid"))

    op.drop_table("dashboards")
