"""The schema's enums. GraphQL names the values by the Python member names (`PUBLIC`,
`ENV_UPDATE`), as 1.x does, while REST and the database use the stored strings (`Public`,
`EnvUpdate`); a resolver gets the member, whose value is the stored string.

Where our enum's member names already are 1.x's, the enum is exposed as it is; otherwise (the
panel types, the validation stages) an enum here carries 1.x's names with our values."""

from enum import StrEnum
from typing import get_args

import strawberry

from control_plane.models.common import OrderByDate as _OrderByDate
from control_plane.models.dashboard import DashboardPanelType as _DashboardPanelType
from control_plane.models.repository_registry import CredentialsStatus
from control_plane.models.unit import OrderByName
from control_plane.services.rollouts.transitions import RolloutCommand as _RolloutCommand
from control_plane.services.units.commands import UnitCommand
from pepeunit_core.db import enums as db
from pipelines.alert_rules import AlertType as _AlertType
from pipelines.alert_rules import ThresholdRule as _ThresholdRule
from pipelines.config import AggregationFunction, PolicyType
from pipelines.config import TypeInputValue as _TypeInputValue

VisibilityLevel = strawberry.enum(db.VisibilityLevel, name="VisibilityLevel")
UserRole = strawberry.enum(db.UserRole, name="UserRole")
UserStatus = strawberry.enum(db.UserStatus, name="UserStatus")
UnitNodeTypeEnum = strawberry.enum(db.UnitNodeType, name="UnitNodeTypeEnum")
UnitFirmwareUpdateStatus = strawberry.enum(db.FirmwareUpdateStatus, name="UnitFirmwareUpdateStatus")
BackendTopicCommand = strawberry.enum(UnitCommand, name="BackendTopicCommand")
PermissionEntities = strawberry.enum(db.PermissionEntity, name="PermissionEntities")
GitPlatform = strawberry.enum(db.RepositoryPlatform, name="GitPlatform")
LogLevel = strawberry.enum(db.LogLevel, name="LogLevel")
RepositoryRegistryStatus = strawberry.enum(db.SyncStatus, name="RepositoryRegistryStatus")
CredentialStatus = strawberry.enum(CredentialsStatus, name="CredentialStatus")
ProcessingPolicyType = strawberry.enum(PolicyType, name="ProcessingPolicyType")
AggregationFunctions = strawberry.enum(AggregationFunction, name="AggregationFunctions")
TypeInputValue = strawberry.enum(_TypeInputValue, name="TypeInputValue")
DashboardStatus = strawberry.enum(db.DashboardSyncStatus, name="DashboardStatus")

# Rollouts (beyond 1.x): our own member names.
RolloutStatus = strawberry.enum(db.RolloutStatus, name="RolloutStatus")
RolloutTargetKind = strawberry.enum(db.RolloutTargetKind, name="RolloutTargetKind")
RolloutStageSize = strawberry.enum(db.RolloutStageSize, name="RolloutStageSize")
OfflineUnitPolicy = strawberry.enum(db.OfflineUnitPolicy, name="OfflineUnitPolicy")
RollbackScope = strawberry.enum(db.RollbackScope, name="RollbackScope")
RolloutUnitOutcome = strawberry.enum(db.RolloutUnitOutcome, name="RolloutUnitOutcome")
RolloutCommand = strawberry.enum(_RolloutCommand, name="RolloutCommand")
ThresholdType = strawberry.enum(
    StrEnum(  # type: ignore[misc]
        "ThresholdType",
        [
            (kind.name, kind.value)
            for kind in _AlertType
            if kind.value in get_args(_ThresholdRule.model_fields["type"].annotation)
        ],
    ),
    name="ThresholdType",
)
"""The kinds of a threshold rule (`above`, `below`) of a rollout's node bounds."""


def _lowercase_names(enum: type[StrEnum], name: str) -> type[StrEnum]:
    """1.x's sort enums are named `asc|desc` (its member names are lowercase)."""
    return strawberry.enum(
        StrEnum(name, [(member.name.lower(), member.value) for member in enum]),  # type: ignore[misc]
        name=name,
    )


OrderByDate = _lowercase_names(_OrderByDate, "OrderByDate")
OrderByText = _lowercase_names(OrderByName, "OrderByText")


@strawberry.enum(name="DataPipeStage")
class DataPipeStage(StrEnum):
    ACTIVE_PERIOD = "ActivePeriod"
    FILTERS = "Filters"
    TRANSFORMATIONS = "Transformations"
    PROCESSING_POLICY = "ProcessingPolicy"


# 1.x's names for the Grafana panel ids (our members drop the underscores).
_PANEL_NAMES = {
    "timeseries": "TIME_SERIES",
    "barchart": "BAR_CHART",
    "bargauge": "BAR_GAUGE",
    "piechart": "PIE_CHART",
    "state-timeline": "STATE_TIMELINE",
    "status-history": "STATUS_HISTORY",
    "alertlist": "ALERT_LIST",
    "dashlist": "DASHBOARD_LIST",
    "annolist": "ANNOTATION_LIST",
    "flamegraph": "FLAME_GRAPH",
    "marcusolsson-hourly-heatmap-panel": "HOURLY_HEATMAP",
    "nodeGraph": "NODE_GRAPH",
    "xychart": "XY_CHART",
}
DashboardPanelTypeEnum = strawberry.enum(
    StrEnum(  # type: ignore[misc]
        "DashboardPanelTypeEnum",
        [(_PANEL_NAMES.get(panel.value, panel.name), panel.value) for panel in _DashboardPanelType],
    ),
    name="DashboardPanelTypeEnum",
)
