"""The scheduled work (docs/operations.md#schedules): syncing registries as the Backend agent and
moving the fleet to new firmware. Each registry syncs in a session of its own, so one that fails
(remote gone, no valid credentials, too large) is logged and the others go on."""

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.registry import (
    RegistryError,
    RegistryRefusal,
    registry_clone_path,
    sync_registry,
)
from control_plane.services.registry.git_repository import is_clone
from control_plane.services.repos.firmware_updates import (
    FleetUpdateReport,
    update_all_auto_update_repos,
)
from pepeunit_core.db.models import RepositoryRegistry
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.schedules")


@dataclass(frozen=True, slots=True)
class RegistrySyncReport:
    synced: int
    failed: int
    skipped: int
    """Synced by someone else moments ago, or left for later because the scheduler stops."""

    def __str__(self) -> str:
        return f"{self.synced} synced, {self.failed} failed, {self.skipped} skipped"


def sync_registries(
    session_factory: sessionmaker[Session],
    settings: Settings,
    stop: threading.Event,
    *,
    only_missing: bool,
) -> RegistrySyncReport:
    """Fetch every registry (`only_missing`: clone those without a local clone) as the Backend
    agent, which uses the first valid credentials of any user for a private one."""
    with session_factory() as session:
        rows = session.execute(
            select(RepositoryRegistry.uuid, RepositoryRegistry.repository_url).order_by(
                RepositoryRegistry.create_datetime, RepositoryRegistry.uuid
            )
        ).all()
    if only_missing:
        rows = [row for row in rows if not is_clone(registry_clone_path(settings, row.uuid))]
    synced = failed = skipped = 0
    for index, (registry_uuid, url) in enumerate(rows):
        if stop.is_set():
            skipped += len(rows) - index
            break
        with session_factory() as session:
            try:
                sync_registry(session, settings, registry_uuid, caller=None, wait_for_slot=True)
            except RegistryError as error:
                if error.reason == RegistryRefusal.BUSY:
                    skipped += 1
                    continue
                failed += 1
                logger.warning("registry %s (%s) did not sync: %s", registry_uuid, url, error)
                continue
            except Exception:
                session.rollback()
                failed += 1
                logger.exception("registry %s (%s) did not sync", registry_uuid, url)
                continue
        synced += 1
    return RegistrySyncReport(synced, failed, skipped)


def update_fleet(
    session_factory: sessionmaker[Session], settings: Settings, publisher: BrokerPublisher
) -> FleetUpdateReport:
    """Every auto-updating unit of every auto-updating repo follows its target and gets an
    Update."""
    with session_factory() as session:
        return update_all_auto_update_repos(session, settings, publisher)
