"""Rollouts: staged, health-gated firmware updates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

`rollouts` holds the version, policies and status of a rollout; `rollout_stages` its stages with
their soak times and gates; `rollout_units` each unit's stage, previous version and outcome;
`rollout_events` the history of its status changes, and the notifier's outbox for those the
creator is told about (issue 18).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("repo_uuid", sa.Uuid(), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_branch", sa.String(), nullable=False),
        sa.Column("target_ref", sa.String(), nullable=False),
        sa.Column("target_commit", sa.String(), nullable=False),
        sa.Column("offline_policy", sa.String(length=32), nullable=False),
        sa.Column("rollback_on_halt", sa.String(length=32), nullable=False),
        sa.Column("node_bounds", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), server_default="Pending", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("current_stage", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("stage_started_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "current_stage >= 0", name=op.f("ck_rollouts_current_stage_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_rollouts_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repo_uuid"],
            ["repos.uuid"],
            name=op.f("fk_rollouts_repo_uuid_repos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_rollouts")),
    )
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rollouts_creator_uuid"), ["creator_uuid"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rollouts_repo_uuid"), ["repo_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_rollouts_status"), ["status"], unique=False)

    op.create_table(
        "rollout_events",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("rollout_uuid", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_uuid", sa.Uuid(), nullable=True),
        sa.Column("event_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_status", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_uuid"],
            ["users.uuid"],
            name=op.f("fk_rollout_events_actor_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rollout_uuid"],
            ["rollouts.uuid"],
            name=op.f("fk_rollout_events_rollout_uuid_rollouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_rollout_events")),
    )
    with op.batch_alter_table("rollout_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rollout_events_delivery_status"), ["delivery_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rollout_events_rollout_uuid"), ["rollout_uuid"], unique=False
        )

    op.create_table(
        "rollout_stages",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("rollout_uuid", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("size_kind", sa.String(length=32), nullable=False),
        sa.Column("size_value", sa.Integer(), nullable=False),
        sa.Column("soak_seconds", sa.Integer(), nullable=False),
        sa.Column("confirm_deadline_seconds", sa.Integer(), nullable=False),
        sa.Column("max_error_log_increase", sa.Integer(), nullable=True),
        sa.Column("max_rejection_increase", sa.Integer(), nullable=True),
        sa.Column("started_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passed_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("position >= 0", name=op.f("ck_rollout_stages_position_not_negative")),
        sa.CheckConstraint("size_value >= 0", name=op.f("ck_rollout_stages_size_not_negative")),
        sa.CheckConstraint(
            "soak_seconds >= 0 AND confirm_deadline_seconds > 0",
            name=op.f("ck_rollout_stages_durations_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["rollout_uuid"],
            ["rollouts.uuid"],
            name=op.f("fk_rollout_stages_rollout_uuid_rollouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_rollout_stages")),
        sa.UniqueConstraint(
            "rollout_uuid", "position", name=op.f("uq_rollout_stages_rollout_uuid_position")
        ),
    )
    op.create_table(
        "rollout_units",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("rollout_uuid", sa.Uuid(), nullable=False),
        sa.Column("unit_uuid", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), server_default="Pending", nullable=False),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("previous_is_auto_update", sa.Boolean(), nullable=True),
        sa.Column("previous_repo_branch", sa.String(), nullable=True),
        sa.Column("previous_repo_commit", sa.String(), nullable=True),
        sa.Column("previous_commit_version", sa.String(), nullable=True),
        sa.Column("error_logs_before", sa.BigInteger(), nullable=True),
        sa.Column("rejections_before", sa.BigInteger(), nullable=True),
        sa.Column("update_sent_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_uuid"],
            ["rollouts.uuid"],
            name=op.f("fk_rollout_units_rollout_uuid_rollouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_uuid"],
            ["units.uuid"],
            name=op.f("fk_rollout_units_unit_uuid_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_rollout_units")),
        sa.UniqueConstraint(
            "rollout_uuid", "unit_uuid", name=op.f("uq_rollout_units_rollout_uuid_unit_uuid")
        ),
    )
    with op.batch_alter_table("rollout_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollout_units_unit_uuid"), ["unit_uuid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rollout_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollout_units_unit_uuid"))

    op.drop_table("rollout_units")
    op.drop_table("rollout_stages")
    with op.batch_alter_table("rollout_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollout_events_rollout_uuid"))
        batch_op.drop_index(batch_op.f("ix_rollout_events_delivery_status"))

    op.drop_table("rollout_events")
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollouts_status"))
        batch_op.drop_index(batch_op.f("ix_rollouts_repo_uuid"))
        batch_op.drop_index(batch_op.f("ix_rollouts_creator_uuid"))

    op.drop_table("rollouts")
