"""Initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Users, repository registry, repos, units, unit nodes, edges, permissions, and the single
dataflow config version row.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

DATAFLOW_CONFIG_VERSION_ROW_ID = 1
AGENT_MATCHES_TYPE = (
    "(agent_type = 'User' AND agent_user_uuid IS NOT NULL AND agent_unit_uuid IS NULL)"
    " OR (agent_type = 'Unit' AND agent_unit_uuid IS NOT NULL AND agent_user_uuid IS NULL)"
)
RESOURCE_MATCHES_TYPE = (
    "(resource_type = 'Repo' AND resource_repo_uuid IS NOT NULL"
    " AND resource_unit_uuid IS NULL AND resource_unit_node_uuid IS NULL)"
    " OR (resource_type = 'Unit' AND resource_unit_uuid IS NOT NULL"
    " AND resource_repo_uuid IS NULL AND resource_unit_node_uuid IS NULL)"
    " OR (resource_type = 'UnitNode' AND resource_unit_node_uuid IS NOT NULL"
    " AND resource_repo_uuid IS NULL AND resource_unit_uuid IS NULL)"
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataflow_config_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"id = {DATAFLOW_CONFIG_VERSION_ROW_ID}",
            name=op.f("ck_dataflow_config_version_single_row"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataflow_config_version")),
    )
    op.bulk_insert(
        sa.table(
            "dataflow_config_version",
            sa.column("id", sa.Integer()),
            sa.column("version", sa.BigInteger()),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        ),
        [{"id": DATAFLOW_CONFIG_VERSION_ROW_ID, "version": 0, "updated_at": datetime.now(UTC)}],
    )
    op.create_table(
        "users",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="Unverified", nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("telegram_chat_id", sa.String(), nullable=True),
        sa.Column("hashed_password", sa.Text(), nullable=False),
        sa.Column("cipher_dynamic_salt", sa.Text(), nullable=False),
        sa.Column("grafana_org_name", sa.Uuid(), nullable=False),
        sa.Column("grafana_org_id", sa.String(), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
        sa.UniqueConstraint("telegram_chat_id", name=op.f("uq_users_telegram_chat_id")),
    )
    op.create_table(
        "repository_registry",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("repository_url", sa.String(), nullable=False),
        sa.Column("is_public_repository", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("cipher_credentials_private_repository", sa.Text(), nullable=True),
        sa.Column("releases_data", sa.Text(), nullable=True),
        sa.Column(
            "local_repository_size", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("sync_status", sa.String(length=32), nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("sync_last_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_repository_registry_creator_uuid_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_repository_registry")),
        sa.UniqueConstraint("repository_url", name=op.f("uq_repository_registry_repository_url")),
    )
    op.create_index(
        op.f("ix_repository_registry_creator_uuid"), "repository_registry", ["creator_uuid"]
    )
    op.create_table(
        "repos",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column(
            "visibility_level", sa.String(length=32), server_default="Public", nullable=False
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("default_branch", sa.String(), nullable=True),
        sa.Column("is_compilable_repo", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_auto_update_repo", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("default_commit", sa.String(), nullable=True),
        sa.Column("is_only_tag_update", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.Column("repository_registry_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_repos_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_registry_uuid"],
            ["repository_registry.uuid"],
            name=op.f("fk_repos_repository_registry_uuid_repository_registry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_repos")),
        sa.UniqueConstraint("name", name=op.f("uq_repos_name")),
    )
    op.create_index(op.f("ix_repos_creator_uuid"), "repos", ["creator_uuid"])
    op.create_index(
        op.f("ix_repos_repository_registry_uuid"), "repos", ["repository_registry_uuid"]
    )
    op.create_table(
        "units",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column(
            "visibility_level", sa.String(length=32), server_default="Public", nullable=False
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(
            "is_auto_update_from_repo_unit", sa.Boolean(), server_default=sa.true(), nullable=False
        ),
        sa.Column("target_firmware_platform", sa.String(), nullable=True),
        sa.Column("repo_branch", sa.String(), nullable=True),
        sa.Column("repo_commit", sa.String(), nullable=True),
        sa.Column("unit_state_dict", sa.Text(), nullable=True),
        sa.Column("current_commit_version", sa.String(), nullable=True),
        sa.Column("cipher_env_dict", sa.Text(), nullable=True),
        sa.Column("cipher_state_storage", sa.Text(), nullable=True),
        sa.Column("firmware_update_status", sa.String(length=32), nullable=True),
        sa.Column("firmware_update_error", sa.Text(), nullable=True),
        sa.Column("last_firmware_update_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.Column("repo_uuid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_units_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repo_uuid"], ["repos.uuid"], name=op.f("fk_units_repo_uuid_repos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    op.create_index(op.f("ix_units_creator_uuid"), "units", ["creator_uuid"])
    op.create_index(op.f("ix_units_repo_uuid"), "units", ["repo_uuid"])
    op.create_table(
        "units_nodes",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "visibility_level", sa.String(length=32), server_default="Public", nullable=False
        ),
        sa.Column("is_rewritable_input", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("max_connections", sa.Integer(), server_default=sa.text("10"), nullable=False),
        sa.Column("topic_name", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("is_data_pipe_active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("data_pipe_yml", sa.Text(), nullable=True),
        sa.Column(
            "data_pipe_status", sa.String(length=32), server_default="Inactive", nullable=False
        ),
        sa.Column("data_pipe_error", sa.Text(), nullable=True),
        sa.Column("create_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.Column("unit_uuid", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "max_connections >= 1", name=op.f("ck_units_nodes_max_connections_positive")
        ),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_units_nodes_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_uuid"],
            ["units.uuid"],
            name=op.f("fk_units_nodes_unit_uuid_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_units_nodes")),
    )
    op.create_index(op.f("ix_units_nodes_creator_uuid"), "units_nodes", ["creator_uuid"])
    op.create_index(op.f("ix_units_nodes_unit_uuid"), "units_nodes", ["unit_uuid"])
    op.create_table(
        "permissions",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("agent_type", sa.String(length=32), nullable=False),
        sa.Column("agent_user_uuid", sa.Uuid(), nullable=True),
        sa.Column("agent_unit_uuid", sa.Uuid(), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_repo_uuid", sa.Uuid(), nullable=True),
        sa.Column("resource_unit_uuid", sa.Uuid(), nullable=True),
        sa.Column("resource_unit_node_uuid", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            AGENT_MATCHES_TYPE,
            name=op.f("ck_permissions_agent_matches_type"),
        ),
        sa.CheckConstraint(
            RESOURCE_MATCHES_TYPE,
            name=op.f("ck_permissions_resource_matches_type"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_unit_uuid"],
            ["units.uuid"],
            name=op.f("fk_permissions_agent_unit_uuid_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_user_uuid"],
            ["users.uuid"],
            name=op.f("fk_permissions_agent_user_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_repo_uuid"],
            ["repos.uuid"],
            name=op.f("fk_permissions_resource_repo_uuid_repos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_unit_node_uuid"],
            ["units_nodes.uuid"],
            name=op.f("fk_permissions_resource_unit_node_uuid_units_nodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_unit_uuid"],
            ["units.uuid"],
            name=op.f("fk_permissions_resource_unit_uuid_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_permissions")),
    )
    op.create_index(op.f("ix_permissions_agent_unit_uuid"), "permissions", ["agent_unit_uuid"])
    op.create_index(op.f("ix_permissions_agent_user_uuid"), "permissions", ["agent_user_uuid"])
    op.create_index(
        op.f("ix_permissions_resource_repo_uuid"), "permissions", ["resource_repo_uuid"]
    )
    op.create_index(
        op.f("ix_permissions_resource_unit_node_uuid"), "permissions", ["resource_unit_node_uuid"]
    )
    op.create_index(
        op.f("ix_permissions_resource_unit_uuid"), "permissions", ["resource_unit_uuid"]
    )
    op.create_table(
        "units_nodes_edges",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("node_output_uuid", sa.Uuid(), nullable=False),
        sa.Column("node_input_uuid", sa.Uuid(), nullable=False),
        sa.Column("creator_uuid", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_uuid"],
            ["users.uuid"],
            name=op.f("fk_units_nodes_edges_creator_uuid_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_input_uuid"],
            ["units_nodes.uuid"],
            name=op.f("fk_units_nodes_edges_node_input_uuid_units_nodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_output_uuid"],
            ["units_nodes.uuid"],
            name=op.f("fk_units_nodes_edges_node_output_uuid_units_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_units_nodes_edges")),
        sa.UniqueConstraint(
            "node_output_uuid",
            "node_input_uuid",
            name=op.f("uq_units_nodes_edges_node_output_uuid_node_input_uuid"),
        ),
    )
    op.create_index(
        op.f("ix_units_nodes_edges_creator_uuid"), "units_nodes_edges", ["creator_uuid"]
    )
    op.create_index(
        op.f("ix_units_nodes_edges_node_input_uuid"), "units_nodes_edges", ["node_input_uuid"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_units_nodes_edges_node_input_uuid"), table_name="units_nodes_edges")
    op.drop_index(op.f("ix_units_nodes_edges_creator_uuid"), table_name="units_nodes_edges")
    op.drop_table("units_nodes_edges")
    op.drop_index(op.f("ix_permissions_resource_unit_uuid"), table_name="permissions")
    op.drop_index(op.f("ix_permissions_resource_unit_node_uuid"), table_name="permissions")
    op.drop_index(op.f("ix_permissions_resource_repo_uuid"), table_name="permissions")
    op.drop_index(op.f("ix_permissions_agent_user_uuid"), table_name="permissions")
    op.drop_index(op.f("ix_permissions_agent_unit_uuid"), table_name="permissions")
    op.drop_table("permissions")
    op.drop_index(op.f("ix_units_nodes_unit_uuid"), table_name="units_nodes")
    op.drop_index(op.f("ix_units_nodes_creator_uuid"), table_name="units_nodes")
    op.drop_table("units_nodes")
    op.drop_index(op.f("ix_units_repo_uuid"), table_name="units")
    op.drop_index(op.f("ix_units_creator_uuid"), table_name="units")
    op.drop_table("units")
    op.drop_index(op.f("ix_repos_repository_registry_uuid"), table_name="repos")
    op.drop_index(op.f("ix_repos_creator_uuid"), table_name="repos")
    op.drop_table("repos")
    op.drop_index(op.f("ix_repository_registry_creator_uuid"), table_name="repository_registry")
    op.drop_table("repository_registry")
    op.drop_table("users")
    op.drop_table("dataflow_config_version")
