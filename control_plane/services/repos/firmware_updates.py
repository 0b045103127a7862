"""Moving units to new firmware (docs/compatibility.md#commands,
docs/compatibility.md#firmware-archives, docs/operations.md#schedules): after a unit's settings
change, for every auto-updating unit of a repo on request, and for the whole fleet on schedule. Each
unit's nodes follow its target first, then it is sent an Update (when its schema lists the topic). A
unit that cannot follow (its target is broken, the broker is down) keeps the reason in its
firmware status and the others go on."""

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.errors import ServiceError
from control_plane.services.units import units
from control_plane.services.units.commands import send_update_if_supported
from pepeunit_core.db.enums import FirmwareUpdateStatus
from pepeunit_core.db.models import Repo, Unit
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.updates")


@dataclass(frozen=True, slots=True)
class FleetUpdateReport:
    units: int
    failed: int


def update_unit_firmware(
    session: Session, settings: Settings, publisher: BrokerPublisher, unit: Unit
) -> bool:
    """Follows the target and sends Update; False (with the reason on the unit) on failure."""
    try:
        units.follow_target(session, settings, unit)
    except ServiceError as error:
        session.rollback()
        unit.firmware_update_status = FirmwareUpdateStatus.ERROR
        unit.firmware_update_error = error.message
        session.commit()
        logger.warning("unit %s cannot follow its target: %s", unit.uuid, error.message)
        return False
    send_update_if_supported(session, settings, publisher, unit)
    return unit.firmware_update_status is not FirmwareUpdateStatus.ERROR


def update_repo_units(
    session: Session, settings: Settings, publisher: BrokerPublisher, repo: Repo
) -> FleetUpdateReport:
    """Every auto-updating unit of the repo."""
    rows = session.scalars(
        select(Unit)
        .where(Unit.repo_uuid == repo.uuid, Unit.is_auto_update_from_repo_unit.is_(True))
        .order_by(Unit.uuid)
    ).all()
    failed = sum(not update_unit_firmware(session, settings, publisher, unit) for unit in rows)
    return FleetUpdateReport(len(rows), failed)


def update_all_auto_update_repos(
    session: Session, settings: Settings, publisher: BrokerPublisher
) -> FleetUpdateReport:
    """The hourly job and the Admin's bulk update: every repo with `is_auto_update_repo`."""
    repo_rows = session.scalars(
        select(Repo).where(Repo.is_auto_update_repo.is_(True)).order_by(Repo.uuid)
    ).all()
    total = failed = 0
    for repo in repo_rows:
        report = update_repo_units(session, settings, publisher, repo)
        total, failed = total + report.units, failed + report.failed
    logger.info("firmware update of %d units in %d repos: %d failed", total, len(repo_rows), failed)
    return FleetUpdateReport(total, failed)
