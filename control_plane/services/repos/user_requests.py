"""What callers ask of repos beyond create, list and delete, as REST (`/repos`) and GraphQL
both serve it."""

import logging
import threading
from uuid import UUID

from sqlalchemy.orm import Session, sessionmaker

from control_plane.models.repo import (
    PlatformRead,
    RepoRead,
    RepoUpdate,
    RepoVersionRead,
    RepoVersionsRead,
)
from control_plane.security import Agent
from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.repos import firmware_updates, repos
from control_plane.services.repos.access import own_repo, visible_repo
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.repos")


def versions(session: Session, settings: Settings, agent: Agent, uuid: UUID) -> RepoVersionsRead:
    """Which commits the repo's units report running, most common first."""
    repo = visible_repo(session, agent, uuid)
    unit_count, found = repos.unit_versions(session, settings, repo)
    return RepoVersionsRead(
        unit_count=unit_count,
        versions=[
            RepoVersionRead(commit=commit, unit_count=count, tag=tag)
            for commit, count, tag in found
        ],
    )


def platforms(
    session: Session,
    settings: Settings,
    agent: Agent,
    uuid: UUID,
    target_commit: str | None,
    target_tag: str | None,
) -> list[PlatformRead]:
    """Release assets of `target_tag`, else of `target_commit`'s tag, else of the repo's
    target tag; always empty for interpretable repos."""
    repo = visible_repo(session, agent, uuid)
    assets = repos.available_platforms(session, settings, repo, target_commit, target_tag)
    return [PlatformRead(name=name, link=link) for name, link in assets]


def update(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    user: User,
    uuid: UUID,
    data: RepoUpdate,
) -> RepoRead:
    """A change of the manual commit sends the repo's auto-updating units an Update."""
    repo = repos.update_repo(session, settings, user, uuid, data)
    read = RepoRead.model_validate(repo)
    if data.default_commit is not None and not repo.is_auto_update_repo:
        firmware_updates.update_repo_units(session, settings, publisher, repo)
    return read


def update_units_firmware(
    session: Session, settings: Settings, publisher: BrokerPublisher, user: User, uuid: UUID
) -> None:
    """Every auto-updating unit of the creator's repo follows its target and is sent an
    Update."""
    firmware_updates.update_repo_units(session, settings, publisher, own_repo(session, user, uuid))


def start_bulk_update(
    session_factory: sessionmaker[Session], settings: Settings, publisher: BrokerPublisher
) -> None:
    """The hourly fleet update, now, in a background thread of its own session."""

    def run() -> None:
        try:
            with session_factory() as session:
                firmware_updates.update_all_auto_update_repos(session, settings, publisher)
        except Exception:
            logger.exception("the bulk firmware update failed")

    threading.Thread(target=run, name="bulk-firmware-update", daemon=True).start()
