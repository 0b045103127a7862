"""What the units list shows of each unit, read through the services (the same visibility as
`GET /units`): a page of units is three queries (count, rows, output nodes) and, for the
caller's own units, one read of git history per repo branch for the target version.

Online is `control_plane.services.units.online`'s rule.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.models.repo import RepoFilter
from control_plane.models.unit import OrderByName, UnitFilter
from control_plane.security import Agent
from control_plane.services.errors import ServiceError
from control_plane.services.paging import Page
from control_plane.services.repos import repos
from control_plane.services.units import target, units
from control_plane.services.units.online import is_online
from pepeunit_core.db.enums import FirmwareUpdateStatus, UnitNodeType
from pepeunit_core.db.models import Repo, Unit, UnitNode
from pepeunit_core.settings import Settings

VALUE_SHOWN_CHARACTERS = 80
SHORT_COMMIT = 8


@dataclass(frozen=True)
class NodeValue:
    uuid: UUID
    topic: str
    value: str | None
    """The node's last value (LastValue pipelines keep it), cut to `VALUE_SHOWN_CHARACTERS`."""
    updated: datetime | None


@dataclass(frozen=True)
class UnitStatus:
    """What the unit's state reports move: shown live."""

    online: bool
    last_report: datetime | None
    firmware: FirmwareUpdateStatus | None
    firmware_error: str | None
    current_commit: str | None
    """The commit the unit last reported."""

    @property
    def current(self) -> str | None:
        return _short(self.current_commit)


@dataclass(frozen=True)
class Target:
    label: str | None
    """The tag, else the shortened commit."""
    commit: str | None
    problem: str | None = None
    """Why no target could be resolved."""


@dataclass(frozen=True)
class UnitRow:
    uuid: UUID
    name: str
    visibility: str
    status: UnitStatus
    target: Target | None
    """What it should run; None when it is not the caller's unit."""
    outputs: list[NodeValue]

    @property
    def up_to_date(self) -> bool:
        return self.target is not None and self.target.commit == self.status.current_commit


@dataclass(frozen=True)
class UnitsPage:
    rows: list[UnitRow]
    count: int
    number: int
    """1-based."""
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.size))


def units_page(
    session: Session,
    settings: Settings,
    agent: Agent,
    search: str | None,
    number: int,
    size: int,
    now: datetime | None = None,
) -> UnitsPage:
    filters = UnitFilter(search_string=search or None, order_by_unit_name=OrderByName.ASC)
    count, found = units.list_units(session, agent, filters, Page((number - 1) * size, size))
    nodes = units.visible_nodes(session, agent, found, [UnitNodeType.OUTPUT])
    targets = targets_of(session, settings, agent, found)
    moment = now or datetime.now(UTC)
    rows = [
        UnitRow(
            uuid=unit.uuid,
            name=unit.name,
            visibility=unit.visibility_level.value,
            status=unit_status(settings, unit, moment),
            target=targets.get(unit.uuid),
            outputs=[node_value(node) for node in nodes.get(unit.uuid, [])],
        )
        for unit in found
    ]
    return UnitsPage(rows, count, number, size)


def visible_units(session: Session, agent: Agent, uuids: Sequence[UUID]) -> Sequence[Unit]:
    """Those of `uuids` that `agent` may see."""
    if not uuids:
        return []
    _, found = units.list_units(session, agent, UnitFilter(uuids=list(uuids)), Page(0, len(uuids)))
    return found


def live_values(
    session: Session,
    settings: Settings,
    agent: Agent,
    watched: Sequence[Unit],
    now: datetime,
    node_types: Sequence[UnitNodeType] = (UnitNodeType.OUTPUT,),
) -> tuple[dict[UUID, UnitStatus], list[NodeValue]]:
    """The status of each of `watched` (re-read, and still visible) and the values of its
    nodes of `node_types`."""
    current = visible_units(session, agent, [unit.uuid for unit in watched])
    nodes = units.visible_nodes(session, agent, current, list(node_types))
    statuses = {unit.uuid: unit_status(settings, unit, now) for unit in current}
    return statuses, [node_value(node) for found in nodes.values() for node in found]


def unit_status(settings: Settings, unit: Unit, now: datetime) -> UnitStatus:
    reported = unit.last_state_report_datetime
    return UnitStatus(
        online=is_online(settings, reported, now),
        last_report=reported,
        firmware=unit.firmware_update_status,
        firmware_error=unit.firmware_update_error,
        current_commit=unit.current_commit_version,
    )


def node_value(node: UnitNode) -> NodeValue:
    value = node.state
    if value is not None and len(value) > VALUE_SHOWN_CHARACTERS:
        value = value[: VALUE_SHOWN_CHARACTERS - 1] + "…"
    updated = node.last_update_datetime if node.state is not None else None
    return NodeValue(node.uuid, node.topic_name, value, updated)


def _short(commit: str | None) -> str | None:
    return commit[:SHORT_COMMIT] if commit else None


def targets_of(
    session: Session, settings: Settings, agent: Agent, found: Sequence[Unit]
) -> dict[UUID, Target]:
    """The targets of the caller's own units, as `GET /units/get_target_version` gives
    them to the creator: units of one repo and branch share a read of its history."""
    own = [unit for unit in found if unit.creator_uuid == agent.uuid]
    if not own:
        return {}
    repo_uuids = list({unit.repo_uuid for unit in own})
    _, found_repos = repos.list_repos(
        session, agent, RepoFilter(uuids=repo_uuids), Page(0, len(repo_uuids))
    )
    by_uuid: dict[UUID, Repo] = {repo.uuid: repo for repo in found_repos}
    resolved: dict[tuple[object, ...], Target] = {}
    targets: dict[UUID, Target] = {}
    for unit in own:
        repo = by_uuid.get(unit.repo_uuid)
        if repo is None:
            targets[unit.uuid] = Target(None, None, "the repo is not visible")
            continue
        key = (repo.uuid, unit.is_auto_update_from_repo_unit, unit.repo_branch, unit.repo_commit)
        if key not in resolved:
            try:
                found_target = target.target_of(settings, repo, unit)
                resolved[key] = Target(
                    found_target.tag or _short(found_target.commit), found_target.commit
                )
            except ServiceError as error:
                resolved[key] = Target(None, None, error.message)
        targets[unit.uuid] = resolved[key]
    return targets


def version_rows(
    session: Session, settings: Settings, agent: Agent, found: Sequence[Unit], now: datetime
) -> list[UnitRow]:
    """`found` with their status and targets but no output values (a repo's units)."""
    targets = targets_of(session, settings, agent, found)
    return [
        UnitRow(
            uuid=unit.uuid,
            name=unit.name,
            visibility=unit.visibility_level.value,
            status=unit_status(settings, unit, now),
            target=targets.get(unit.uuid),
            outputs=[],
        )
        for unit in found
    ]
