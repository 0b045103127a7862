"""What each bot command reads or does, through the API's services, as the chat's agent.

Blocking functions of a session, run off the event loop by `BotServices.run`. They return plain
data for `views` and raise the services' `ServiceError`s (no access, not found, ...) unchanged.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.bot.chats import chat_agent, chat_key
from control_plane.bot.services import BotServices
from control_plane.models.metrics import BaseMetrics
from control_plane.models.unit import OrderByName, UnitFilter, UnitRead
from control_plane.models.unit_log import UnitLogFilter, UnitLogsResult
from control_plane.security import AgentType
from control_plane.services import metrics
from control_plane.services.errors import NotFoundError, ServiceError, UnitError
from control_plane.services.firmware import (
    DEFAULT_TGZ_LEVEL,
    DEFAULT_TGZ_WBITS,
    ArchiveFormat,
    unit_firmware,
)
from control_plane.services.paging import Page
from control_plane.services.repos.versions import TargetVersion
from control_plane.services.units import access as unit_access
from control_plane.services.units import commands as unit_commands
from control_plane.services.units import env as unit_env
from control_plane.services.units import logs as unit_logs
from control_plane.services.units import target as unit_target
from control_plane.services.units import units
from control_plane.services.units.commands import UnitCommand
from control_plane.services.users import telegram_link
from pepeunit_core.clickhouse.pool import shared_clickhouse_pool
from pepeunit_core.db.models import Repo, Unit
from pepeunit_core.settings import Settings

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
"""The largest file a bot may send (Telegram Bot API)."""


@dataclass(frozen=True)
class InfoView:
    counts: BaseMetrics
    login: str | None
    """The linked user, None for an unknown chat."""


@dataclass(frozen=True)
class UnitsPageView:
    units: list[UnitRead]
    count: int
    page: int
    """0-based, within the pages there are."""
    pages: int
    mine: bool


@dataclass(frozen=True)
class UnitDetailView:
    unit: UnitRead
    repo_name: str
    is_owner: bool
    target: TargetVersion | None
    """The owner's view only: what the unit should run."""
    commands: list[UnitCommand]
    """Commands the unit's schema takes (the owner's view only)."""


@dataclass(frozen=True)
class LogsView:
    unit_uuid: UUID
    unit_name: str
    logs: UnitLogsResult
    page: int
    pages: int


@dataclass(frozen=True)
class UnitFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class LinkOutcome:
    login: str | None
    """The user the chat is linked to now; None when refused."""
    refusal: telegram_link.LinkRefusal | None


def link_chat(session: Session, chat_id: int, code: str) -> LinkOutcome:
    result = telegram_link.link_chat(session, code, chat_key(chat_id), datetime.now(UTC))
    return LinkOutcome(result.user.login if result.user else None, result.refusal)


def instance_info(session: Session, chat_id: int) -> InfoView:
    agent = chat_agent(session, chat_id)
    login = agent.user.login if agent.user is not None else None
    return InfoView(metrics.count_entities(session), login)


def _pages(count: int, per_page: int) -> int:
    return max(1, math.ceil(count / per_page))


def units_page(
    session: Session, settings: Settings, chat_id: int, page: int, mine: bool
) -> UnitsPageView:
    """The units the chat may see, by name; `mine`: only the linked user's own."""
    agent = chat_agent(session, chat_id)
    if mine and agent.type != AgentType.USER:
        return UnitsPageView([], 0, 0, 1, mine)
    per_page = settings.telegram_items_per_page
    filters = UnitFilter(
        order_by_unit_name=OrderByName.ASC, creator_uuid=agent.uuid if mine else None
    )
    page = max(page, 0)
    count, rows = units.list_units(session, agent, filters, Page(page * per_page, per_page))
    pages = _pages(count, per_page)
    if page >= pages:  # units went away since the page was shown
        page = pages - 1
        count, rows = units.list_units(session, agent, filters, Page(page * per_page, per_page))
    return UnitsPageView([UnitRead.model_validate(row) for row in rows], count, page, pages, mine)


def find_unit(session: Session, chat_id: int, reference: str) -> UUID:
    """A unit the chat may see, by uuid or by name."""
    agent = chat_agent(session, chat_id)
    try:
        uuid = UUID(reference)
    except ValueError:
        found = session.scalar(select(Unit.uuid).where(Unit.name == reference))
        if found is None:
            raise NotFoundError(f"No unit is called {reference}") from None
        uuid = found
    return unit_access.visible_unit(session, agent, uuid).uuid


def unit_detail(session: Session, settings: Settings, chat_id: int, uuid: UUID) -> UnitDetailView:
    agent = chat_agent(session, chat_id)
    unit = unit_access.visible_unit(session, agent, uuid)
    is_owner = agent.type == AgentType.USER and agent.uuid == unit.creator_uuid
    target: TargetVersion | None = None
    commands: list[UnitCommand] = []
    if is_owner:
        try:
            resolved = unit_target.device_target(session, settings, agent, uuid)
            target = resolved.target
            commands = unit_commands.supported_commands(session, settings, resolved)
        except ServiceError:  # the repository cannot be read now: show what is stored
            pass
    repo = session.get_one(Repo, unit.repo_uuid)
    return UnitDetailView(UnitRead.model_validate(unit), repo.name, is_owner, target, commands)


def send_command(
    session: Session, services: BotServices, chat_id: int, uuid: UUID, command: UnitCommand
) -> str:
    """Sends the command (the unit's creator only); returns the unit's name."""
    agent = chat_agent(session, chat_id)
    unit = unit_access.device_unit(session, agent, uuid)
    unit_commands.send_command(session, services.settings, services.publisher, unit, command)
    return unit.name


def env_file(session: Session, services: BotServices, chat_id: int, uuid: UUID) -> UnitFile:
    agent = chat_agent(session, chat_id)
    env = unit_env.unit_env(session, services.settings, services.cipher, agent, uuid)
    return UnitFile("env.json", json.dumps(env, indent=4).encode())


def firmware_file(
    session: Session,
    services: BotServices,
    chat_id: int,
    uuid: UUID,
    archive_format: ArchiveFormat,
) -> UnitFile:
    """The archive as `<unit name>.<format>`, as the reference names it."""
    agent = chat_agent(session, chat_id)
    unit = unit_access.device_unit(session, agent, uuid)
    content = unit_firmware.unit_firmware(
        session,
        services.settings,
        services.cipher,
        agent,
        uuid,
        archive_format,
        wbits=DEFAULT_TGZ_WBITS,
        level=DEFAULT_TGZ_LEVEL,
    )
    if len(content) > MAX_DOCUMENT_BYTES:
        raise UnitError(f"The archive is {len(content)} bytes, more than a bot may send")
    return UnitFile(f"{unit.name}.{archive_format.value}", content)


def recent_logs(
    session: Session, settings: Settings, chat_id: int, uuid: UUID, page: int
) -> LogsView:
    """The unit's log entries, newest first, a page at a time (the creator only)."""
    agent = chat_agent(session, chat_id)
    unit = unit_access.device_unit(session, agent, uuid)
    per_page = settings.telegram_items_per_page
    pool = shared_clickhouse_pool(settings.resolved_clickhouse_url, settings.clickhouse_pool_size)
    with pool.client() as client:
        filters = UnitLogFilter(uuid=uuid)
        now = datetime.now(UTC)
        page = max(page, 0)
        logs = unit_logs.list_unit_logs(
            session, client, agent, filters, Page(page * per_page, per_page), now
        )
        pages = _pages(logs.count, per_page)
        if page >= pages:
            page = pages - 1
            logs = unit_logs.list_unit_logs(
                session, client, agent, filters, Page(page * per_page, per_page), now
            )
    return LogsView(unit.uuid, unit.name, logs, page, pages)
