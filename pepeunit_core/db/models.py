"""The SQL tables of the reference control plane (users, registries, repos, units, unit nodes,
edges, permissions) plus the dataflow's config version counter.

Table, column and enum value names are the reference's, so its tools and queries keep working.
"""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .enums import (
    AlertEventKind,
    DashboardSyncStatus,
    DataPipeStatus,
    DeliveryStatus,
    FirmwareUpdateStatus,
    OfflineUnitPolicy,
    PermissionEntity,
    RepositoryPlatform,
    RollbackScope,
    RolloutStageSize,
    RolloutStatus,
    RolloutTargetKind,
    RolloutUnitOutcome,
    SyncStatus,
    UnitNodeType,
    UserRole,
    UserStatus,
    VisibilityLevel,
)
from .types import UTCDateTime, str_enum, utc_now

# Deterministic constraint names: SQLite batch migrations can only alter named constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_MAX_CONNECTIONS = 10


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), UUID: Uuid()}


def _uuid_primary_key() -> Mapped[UUID]:
    return mapped_column(primary_key=True, default=uuid4)


def _creator(on_delete: str) -> Mapped[UUID | None]:
    return mapped_column(ForeignKey("users.uuid", ondelete=on_delete), index=True)


def _visibility() -> Mapped[VisibilityLevel]:
    return mapped_column(
        str_enum(VisibilityLevel),
        default=VisibilityLevel.PUBLIC,
        server_default=VisibilityLevel.PUBLIC.value,
    )


def _flag(default: bool) -> Mapped[bool]:
    return mapped_column(default=default, server_default=true() if default else false())


class User(Base):
    __tablename__ = "users"

    uuid: Mapped[UUID] = _uuid_primary_key()
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole))
    status: Mapped[UserStatus] = mapped_column(
        str_enum(UserStatus),
        default=UserStatus.UNVERIFIED,
        server_default=UserStatus.UNVERIFIED.value,
    )
    login: Mapped[str] = mapped_column(String, unique=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String, unique=True)
    hashed_password: Mapped[str] = mapped_column(Text)
    cipher_dynamic_salt: Mapped[str] = mapped_column(Text)
    grafana_org_name: Mapped[UUID] = mapped_column(default=uuid4)
    grafana_org_id: Mapped[str | None] = mapped_column(String)
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)


class RepositoryRegistry(Base):
    """A git repository cloned onto the instance; one row per URL, shared by all users."""

    __tablename__ = "repository_registry"

    uuid: Mapped[UUID] = _uuid_primary_key()
    platform: Mapped[RepositoryPlatform] = mapped_column(str_enum(RepositoryPlatform))
    repository_url: Mapped[str] = mapped_column(String, unique=True)
    is_public_repository: Mapped[bool] = _flag(default=True)
    cipher_credentials_private_repository: Mapped[str | None] = mapped_column(Text)
    releases_data: Mapped[str | None] = mapped_column(Text)
    local_repository_size: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )
    sync_status: Mapped[SyncStatus | None] = mapped_column(str_enum(SyncStatus))
    sync_error: Mapped[str | None] = mapped_column(Text)
    sync_last_datetime: Mapped[datetime | None]
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_update_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="SET NULL")


class Repo(Base):
    """A user's product on a registry: a branch plus an update policy."""

    __tablename__ = "repos"

    uuid: Mapped[UUID] = _uuid_primary_key()
    visibility_level: Mapped[VisibilityLevel] = _visibility()
    name: Mapped[str] = mapped_column(String, unique=True)
    default_branch: Mapped[str | None] = mapped_column(String)
    is_compilable_repo: Mapped[bool] = _flag(default=False)
    is_auto_update_repo: Mapped[bool] = _flag(default=True)
    default_commit: Mapped[str | None] = mapped_column(String)
    is_only_tag_update: Mapped[bool] = _flag(default=False)
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_update_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")
    repository_registry_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("repository_registry.uuid", ondelete="CASCADE"), index=True
    )


class Unit(Base):
    """A physical device."""

    __tablename__ = "units"

    uuid: Mapped[UUID] = _uuid_primary_key()
    visibility_level: Mapped[VisibilityLevel] = _visibility()
    name: Mapped[str] = mapped_column(String, unique=True)
    is_auto_update_from_repo_unit: Mapped[bool] = _flag(default=True)
    target_firmware_platform: Mapped[str | None] = mapped_column(String)
    repo_branch: Mapped[str | None] = mapped_column(String)
    repo_commit: Mapped[str | None] = mapped_column(String)
    unit_state_dict: Mapped[str | None] = mapped_column(Text)
    current_commit_version: Mapped[str | None] = mapped_column(String)
    cipher_env_dict: Mapped[str | None] = mapped_column(Text)
    cipher_state_storage: Mapped[str | None] = mapped_column(Text)
    firmware_update_status: Mapped[FirmwareUpdateStatus | None] = mapped_column(
        str_enum(FirmwareUpdateStatus)
    )
    firmware_update_error: Mapped[str | None] = mapped_column(Text)
    last_firmware_update_datetime: Mapped[datetime | None]
    firmware_update_target_commit: Mapped[str | None] = mapped_column(String)
    """The commit the last Update command asked for; a state report naming it is Success."""
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_update_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_state_report_datetime: Mapped[datetime | None]
    """When the newest stored state report was received (an edit of the unit leaves it)."""
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")
    repo_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("repos.uuid", ondelete="CASCADE"), index=True
    )


class UnitNode(Base):
    """One input or output topic of a unit, with its pipeline (DataPipe) settings."""

    __tablename__ = "units_nodes"
    __table_args__ = (CheckConstraint("max_connections >= 1", name="max_connections_positive"),)

    uuid: Mapped[UUID] = _uuid_primary_key()
    type: Mapped[UnitNodeType] = mapped_column(str_enum(UnitNodeType))
    visibility_level: Mapped[VisibilityLevel] = _visibility()
    is_rewritable_input: Mapped[bool] = _flag(default=False)
    max_connections: Mapped[int] = mapped_column(
        default=DEFAULT_MAX_CONNECTIONS, server_default=text(str(DEFAULT_MAX_CONNECTIONS))
    )
    topic_name: Mapped[str] = mapped_column(String)
    state: Mapped[str | None] = mapped_column(Text)
    is_data_pipe_active: Mapped[bool] = _flag(default=False)
    data_pipe_yml: Mapped[str | None] = mapped_column(Text)
    """The pipeline config as JSON text (the reference's name, despite the format)."""
    data_pipe_status: Mapped[DataPipeStatus] = mapped_column(
        str_enum(DataPipeStatus),
        default=DataPipeStatus.INACTIVE,
        server_default=DataPipeStatus.INACTIVE.value,
    )
    data_pipe_error: Mapped[str | None] = mapped_column(Text)
    data_pipe_rejected_count: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )
    """Messages the pipeline rejected; written by the dataflow (`pepeunit_core.pipe_rejections`)."""
    data_pipe_rejections: Mapped[str | None] = mapped_column(Text)
    """Counts per reason and the last rejected messages, as JSON (`RejectionLog.to_stored`)."""
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_update_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")
    unit_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units.uuid", ondelete="CASCADE"), index=True
    )


class UnitNodeEdge(Base):
    """A link from an Output node to an Input node: the dataflow republishes along it."""

    __tablename__ = "units_nodes_edges"
    __table_args__ = (UniqueConstraint("node_output_uuid", "node_input_uuid"),)

    uuid: Mapped[UUID] = _uuid_primary_key()
    node_output_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units_nodes.uuid", ondelete="CASCADE")
    )
    node_input_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units_nodes.uuid", ondelete="CASCADE"), index=True
    )
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")


class Permission(Base):
    """Access of one agent (a User or a Unit) to one resource (a Repo, Unit or UnitNode).

    Exactly the uuid column matching each type is set; the checks keep the row consistent.
    """

    __tablename__ = "permissions"
    __table_args__ = (
        CheckConstraint(
            "(agent_type = 'User' AND agent_user_uuid IS NOT NULL AND agent_unit_uuid IS NULL)"
            " OR (agent_type = 'Unit' AND agent_unit_uuid IS NOT NULL"
            " AND agent_user_uuid IS NULL)",
            name="agent_matches_type",
        ),
        CheckConstraint(
            "(resource_type = 'Repo' AND resource_repo_uuid IS NOT NULL"
            " AND resource_unit_uuid IS NULL AND resource_unit_node_uuid IS NULL)"
            " OR (resource_type = 'Unit' AND resource_unit_uuid IS NOT NULL"
            " AND resource_repo_uuid IS NULL AND resource_unit_node_uuid IS NULL)"
            " OR (resource_type = 'UnitNode' AND resource_unit_node_uuid IS NOT NULL"
            " AND resource_repo_uuid IS NULL AND resource_unit_uuid IS NULL)",
            name="resource_matches_type",
        ),
    )

    uuid: Mapped[UUID] = _uuid_primary_key()
    agent_type: Mapped[PermissionEntity] = mapped_column(str_enum(PermissionEntity))
    agent_user_uuid: Mapped[UUID | None] = mapped_column(
        ForeignKey("users.uuid", ondelete="CASCADE"), index=True
    )
    agent_unit_uuid: Mapped[UUID | None] = mapped_column(
        ForeignKey("units.uuid", ondelete="CASCADE"), index=True
    )
    resource_type: Mapped[PermissionEntity] = mapped_column(str_enum(PermissionEntity))
    resource_repo_uuid: Mapped[UUID | None] = mapped_column(
        ForeignKey("repos.uuid", ondelete="CASCADE"), index=True
    )
    resource_unit_uuid: Mapped[UUID | None] = mapped_column(
        ForeignKey("units.uuid", ondelete="CASCADE"), index=True
    )
    resource_unit_node_uuid: Mapped[UUID | None] = mapped_column(
        ForeignKey("units_nodes.uuid", ondelete="CASCADE"), index=True
    )


class AlertEvent(Base):
    """An alert or recovery raised by a node's pipeline: the notifier's outbox.

    The dataflow writes it (its uuid derives from the message that raised it, so a replay
    writes the same row); the notifier sends pending ones and records the outcome.
    """

    __tablename__ = "alert_events"

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    unit_node_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units_nodes.uuid", ondelete="CASCADE"), index=True
    )
    rule_name: Mapped[str] = mapped_column(String)
    kind: Mapped[AlertEventKind] = mapped_column(str_enum(AlertEventKind))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    event_datetime: Mapped[datetime]
    sequence: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    """Orders events raised at the same millisecond: the identity of the message that raised
    them in the dataflow's log (0 for those raised by the clock)."""
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus),
        default=DeliveryStatus.PENDING,
        server_default=DeliveryStatus.PENDING.value,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_datetime: Mapped[datetime | None]
    sent_datetime: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)


class TelegramVerificationCode(Base):
    """A one-time code linking a Telegram chat to a user (`/start <code>`), short-lived."""

    __tablename__ = "telegram_verification_codes"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    user_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("users.uuid", ondelete="CASCADE"), index=True
    )
    expiration_datetime: Mapped[datetime]


class Dashboard(Base):
    """A user's Grafana dashboard (docs/operations.md#grafana)."""

    __tablename__ = "dashboards"

    uuid: Mapped[UUID] = _uuid_primary_key()
    name: Mapped[str] = mapped_column(String)
    grafana_uuid: Mapped[UUID] = mapped_column(default=uuid4)
    dashboard_url: Mapped[str | None] = mapped_column(String)
    inc_last_version: Mapped[int | None]
    sync_status: Mapped[DashboardSyncStatus | None] = mapped_column(str_enum(DashboardSyncStatus))
    sync_error: Mapped[str | None] = mapped_column(Text)
    sync_last_datetime: Mapped[datetime | None]
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")


class DashboardPanel(Base):
    __tablename__ = "dashboard_panels"

    uuid: Mapped[UUID] = _uuid_primary_key()
    type: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String)
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    dashboard_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("dashboards.uuid", ondelete="CASCADE"), index=True
    )
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")


class PanelUnitNode(Base):
    """A node shown on a panel; a node appears on a given panel once."""

    __tablename__ = "mtm_panels_unit_nodes"
    __table_args__ = (UniqueConstraint("unit_node_uuid", "dashboard_panels_uuid"),)

    uuid: Mapped[UUID] = _uuid_primary_key()
    unit_node_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units_nodes.uuid", ondelete="CASCADE"), index=True
    )
    dashboard_panels_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("dashboard_panels.uuid", ondelete="CASCADE"), index=True
    )
    is_last_data: Mapped[bool] = _flag(default=False)
    is_forced_to_json: Mapped[bool] = _flag(default=False)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")


class Rollout(Base):
    """A staged, health-gated firmware update of a repo's units (docs/api.md#rollouts)."""

    __tablename__ = "rollouts"
    __table_args__ = (CheckConstraint("current_stage >= 0", name="current_stage_not_negative"),)

    uuid: Mapped[UUID] = _uuid_primary_key()
    repo_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("repos.uuid", ondelete="CASCADE"), index=True
    )
    target_kind: Mapped[RolloutTargetKind] = mapped_column(str_enum(RolloutTargetKind))
    target_branch: Mapped[str] = mapped_column(String)
    """The branch the target is on; units are pinned to `target_commit` on it."""
    target_ref: Mapped[str] = mapped_column(String)
    """The tag, branch or commit as the creator named it."""
    target_commit: Mapped[str] = mapped_column(String)
    """`target_ref` resolved when the rollout was created: every stage sends this commit."""
    offline_policy: Mapped[OfflineUnitPolicy] = mapped_column(str_enum(OfflineUnitPolicy))
    rollback_on_halt: Mapped[RollbackScope] = mapped_column(str_enum(RollbackScope))
    node_bounds: Mapped[str | None] = mapped_column(Text)
    """Optional value gates: threshold rules per node topic name, as JSON."""
    status: Mapped[RolloutStatus] = mapped_column(
        str_enum(RolloutStatus),
        default=RolloutStatus.PENDING,
        server_default=RolloutStatus.PENDING.value,
        index=True,
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    current_stage: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    stage_started_datetime: Mapped[datetime | None]
    create_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    last_update_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    creator_uuid: Mapped[UUID | None] = _creator(on_delete="CASCADE")


class RolloutStage(Base):
    """One stage of a rollout: how many units, how long they soak, which gates they pass."""

    __tablename__ = "rollout_stages"
    __table_args__ = (
        UniqueConstraint("rollout_uuid", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("size_value >= 0", name="size_not_negative"),
        CheckConstraint(
            "soak_seconds >= 0 AND confirm_deadline_seconds > 0", name="durations_valid"
        ),
    )

    uuid: Mapped[UUID] = _uuid_primary_key()
    rollout_uuid: Mapped[UUID] = mapped_column(ForeignKey("rollouts.uuid", ondelete="CASCADE"))
    position: Mapped[int]
    size_kind: Mapped[RolloutStageSize] = mapped_column(str_enum(RolloutStageSize))
    size_value: Mapped[int]
    soak_seconds: Mapped[int]
    confirm_deadline_seconds: Mapped[int]
    """How long a unit has to report the new version after its Update was sent."""
    max_error_log_increase: Mapped[int | None]
    """Error logs allowed after the update beyond those before it (None: not checked)."""
    max_rejection_increase: Mapped[int | None]
    """Pipeline rejections allowed after the update beyond those before it (None: not
    checked)."""
    started_datetime: Mapped[datetime | None]
    passed_datetime: Mapped[datetime | None]


class RolloutUnit(Base):
    """A unit of a rollout: its stage, what it ran before, and how its update went."""

    __tablename__ = "rollout_units"
    __table_args__ = (UniqueConstraint("rollout_uuid", "unit_uuid"),)

    uuid: Mapped[UUID] = _uuid_primary_key()
    rollout_uuid: Mapped[UUID] = mapped_column(ForeignKey("rollouts.uuid", ondelete="CASCADE"))
    unit_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("units.uuid", ondelete="CASCADE"), index=True
    )
    stage: Mapped[int]
    outcome: Mapped[RolloutUnitOutcome] = mapped_column(
        str_enum(RolloutUnitOutcome),
        default=RolloutUnitOutcome.PENDING,
        server_default=RolloutUnitOutcome.PENDING.value,
    )
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    previous_is_auto_update: Mapped[bool | None]
    """The unit's own target settings before the update, restored by a rollback."""
    previous_repo_branch: Mapped[str | None] = mapped_column(String)
    previous_repo_commit: Mapped[str | None] = mapped_column(String)
    previous_commit_version: Mapped[str | None] = mapped_column(String)
    """The version the unit reported running before the update."""
    error_logs_before: Mapped[int | None] = mapped_column(BigInteger)
    rejections_before: Mapped[int | None] = mapped_column(BigInteger)
    update_sent_datetime: Mapped[datetime | None]
    confirmed_datetime: Mapped[datetime | None]
    outcome_datetime: Mapped[datetime | None]


class RolloutEvent(Base):
    """The history of a rollout: every change of its status or stage, by whom and why."""

    __tablename__ = "rollout_events"

    uuid: Mapped[UUID] = _uuid_primary_key()
    rollout_uuid: Mapped[UUID] = mapped_column(
        ForeignKey("rollouts.uuid", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[RolloutStatus | None] = mapped_column(str_enum(RolloutStatus))
    to_status: Mapped[RolloutStatus] = mapped_column(str_enum(RolloutStatus))
    stage: Mapped[int]
    reason: Mapped[str | None] = mapped_column(Text)
    actor_uuid: Mapped[UUID | None] = mapped_column(ForeignKey("users.uuid", ondelete="SET NULL"))
    """The user who paused, resumed, aborted or rolled back; None for the driver's own steps."""
    event_datetime: Mapped[datetime] = mapped_column(default=utc_now)
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(
        str_enum(DeliveryStatus), index=True
    )
    """The notifier's outbox, as `alert_events`: None for events nobody is told about (the
    creator's own commands), else Pending until the Telegram message to the creator is sent."""
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_datetime: Mapped[datetime | None]
    sent_datetime: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


DATAFLOW_CONFIG_VERSION_ROW_ID = 1


class DataflowConfigVersion(Base):
    """A single row counting pipeline and edge changes; the dataflow reloads when it moves."""

    __tablename__ = "dataflow_config_version"
    __table_args__ = (CheckConstraint(f"id = {DATAFLOW_CONFIG_VERSION_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
