"""The bot's messages (HTML) and buttons, made from what `queries` returns; no I/O."""

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from control_plane.bot.callbacks import (
    LogsPage,
    UnitCommandCall,
    UnitDownload,
    UnitFileCall,
    UnitsPage,
    UnitView,
)
from control_plane.bot.queries import InfoView, LogsView, UnitDetailView, UnitsPageView
from control_plane.models.unit import UnitStateRead
from control_plane.services.errors import ServiceError
from control_plane.services.users.telegram_link import LinkRefusal
from pepeunit_core.db.enums import FirmwareUpdateStatus


def escape(text: str) -> str:
    """Text for an HTML message (quotes need no escaping there)."""
    return html.escape(text, quote=False)


HASH_LENGTH = 8
"""Commit hashes are shown this long (the reference's PU_TELEGRAM_GIT_HASH_LENGTH)."""
LOG_TEXT_LENGTH = 300


@dataclass(frozen=True)
class View:
    text: str
    markup: InlineKeyboardMarkup | None = None


def button(text: str, callback: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=callback.pack())


def keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


def short_commit(commit: str | None) -> str:
    return escape(commit[:HASH_LENGTH]) if commit else "unknown"


HELP = """<b>Pepeunit</b>
/units — the units you can see (<code>/units mine</code>: your own)
/unit NAME — a unit: state, versions, update status; for its creator also commands, \
env.json, firmware and logs
/registry — repository registries: branches, sync (<code>/registry mine</code>, \
<code>/registry WORDS</code> to search, <code>/registry UUID</code>)
/repo — repos: update policy, versions of their units; for the creator "Update Related Units" \
(<code>/repo mine</code>, <code>/repo WORDS</code>, <code>/repo NAME</code>)
/dashboard — your dashboards, as links to Grafana
/info — what this instance holds
/help — this message

To link this chat to your account, open the link that \
<code>GET /users/generate_verification_link/</code> gives you within a minute \
(it sends <code>/start CODE</code>)."""


def _who(login: str | None) -> str:
    if login is None:
        return "This chat is not linked: you see public data only."
    return f"This chat is linked to <b>{escape(login)}</b>."


def help_view(login: str | None) -> View:
    return View(f"{HELP}\n\n{_who(login)}")


def error_view(error: ServiceError) -> View:
    return View(f"⚠️ {escape(error.message)}")


LINK_REFUSALS = {
    LinkRefusal.UNKNOWN_CODE: "This code is unknown or was used already: ask for a new link.",
    LinkRefusal.EXPIRED_CODE: "This code has expired (codes live 60 s): ask for a new link.",
    LinkRefusal.CHAT_TAKEN: "This chat is linked to another account already.",
    LinkRefusal.BLOCKED_USER: "This account is blocked.",
}


def linked_view(login: str) -> View:
    return View(f"✅ This chat is now linked to <b>{escape(login)}</b>. /help")


def link_refused_view(refusal: LinkRefusal) -> View:
    return View(f"⚠️ {LINK_REFUSALS[refusal]}")


def info_view(info: InfoView) -> View:
    counts = info.counts
    lines = [
        "<b>Instance</b>",
        f"Users: {counts.user_count}",
        f"Repository registries: {counts.repository_registry_count}",
        f"Repos: {counts.repo_count}",
        f"Units: {counts.unit_count}",
        f"Unit nodes: {counts.unit_node_count}",
        f"Unit node edges: {counts.unit_node_edge_count}",
    ]
    return View("\n".join(lines) + "\n\n" + _who(info.login))


def units_view(page: UnitsPageView) -> View:
    title = "Your units" if page.mine else "Units"
    if not page.units:
        return View(f"<b>{title}</b>: none you can see.")
    lines = [f"<b>{title}</b> ({page.count}), page {page.page + 1}/{page.pages}"]
    buttons = []
    for unit in page.units:
        status = f", {unit.firmware_update_status}" if unit.firmware_update_status else ""
        lines.append(
            f"• <b>{escape(unit.name)}</b> — {unit.visibility_level}, "
            f"v {short_commit(unit.current_commit_version)}{status}"
        )
        buttons.append([button(unit.name, UnitView(uuid=unit.uuid))])
    navigation = []
    if page.page > 0:
        navigation.append(button("« Back", UnitsPage(page=page.page - 1, mine=page.mine)))
    if page.page + 1 < page.pages:
        navigation.append(button("Next »", UnitsPage(page=page.page + 1, mine=page.mine)))
    return View("\n".join(lines), keyboard([*buttons, navigation]))


def _duration(milliseconds: float) -> str:
    seconds = int(milliseconds // 1000)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h", f"{minutes} min"] if days or hours else [f"{minutes} min"]
    return " ".join(parts) if days or hours or minutes else f"{seconds} s"


def _state_lines(state: UnitStateRead) -> list[str]:
    lines = []
    addresses = [str(item) for item in state.ifconfig]
    if addresses:
        lines.append(f"IP: {escape(', '.join(addresses))}")
    if state.millis is not None:
        lines.append(f"Uptime: {_duration(state.millis)}")
    if state.mem_free is not None or state.mem_alloc is not None:
        free = f"{state.mem_free / 1024:.1f}" if state.mem_free is not None else "?"
        used = f"{state.mem_alloc / 1024:.1f}" if state.mem_alloc is not None else "?"
        lines.append(f"RAM: {free} KB free, {used} KB used")
    if state.freq is not None:
        lines.append(f"CPU: {state.freq / 1_000_000:g} MHz")
    numbers = [item for item in state.statvfs if isinstance(item, int | float)]
    if len(numbers) >= 4:  # os.statvfs: f_bsize, f_frsize, f_blocks, f_bfree, ...
        total, free = numbers[1] * numbers[2], numbers[0] * numbers[3]
        lines.append(f"Flash: {free / 1024:.0f} KB free of {total / 1024:.0f} KB")
    return lines


def _update_line(view: UnitDetailView) -> str:
    unit = view.unit
    status = unit.firmware_update_status
    if status is None:
        return "Update: none requested"
    line = f"Update: {status} ({moment(unit.last_firmware_update_datetime)})"
    if status == FirmwareUpdateStatus.ERROR and unit.firmware_update_error:
        line += f"\n  {escape(unit.firmware_update_error)}"
    return line


def unit_view(view: UnitDetailView) -> View:
    unit = view.unit
    lines = [
        f"<b>{escape(unit.name)}</b> ({unit.visibility_level})",
        f"Repo: {escape(view.repo_name)}",
        f"Current version: {short_commit(unit.current_commit_version)}",
    ]
    if view.target is not None:
        tag = f" ({escape(view.target.tag)})" if view.target.tag else ""
        lines.append(f"Target version: {short_commit(view.target.commit)}{tag}")
    lines.append(_update_line(view))
    if unit.unit_state is not None:
        lines += _state_lines(unit.unit_state)
    else:
        lines.append("State: not reported yet")
    lines.append(f"Last change: {moment(unit.last_update_datetime)}")
    if not view.is_owner:
        return View("\n".join(lines))
    uuid = unit.uuid
    commands = [
        button(f"▶ {command.value}", UnitCommandCall(uuid=uuid, command=command))
        for command in view.commands
    ]
    files = [
        button(name, UnitFileCall(uuid=uuid, file=download))
        for name, download in (
            ("env.json", UnitDownload.ENV),
            ("zip", UnitDownload.ZIP),
            ("tar", UnitDownload.TAR),
            ("tgz", UnitDownload.TGZ),
        )
    ]
    logs = [button("Logs", LogsPage(uuid=uuid, page=0, edit=False))]
    return View("\n".join(lines), keyboard([commands[:2], commands[2:], files, logs]))


def logs_view(view: LogsView) -> View:
    title = f"<b>{escape(view.unit_name)}</b> logs"
    if not view.logs.unit_logs:
        return View(f"{title}: none.")
    lines = [f"{title} ({view.logs.count}), newest first, page {view.page + 1}/{view.pages}"]
    for entry in view.logs.unit_logs:
        text = entry.text if len(entry.text) <= LOG_TEXT_LENGTH else entry.text[:LOG_TEXT_LENGTH]
        lines.append(
            f"<code>{entry.create_datetime:%m-%d %H:%M:%S}</code> <b>{entry.level}</b> "
            f"{escape(text)}"
        )
    navigation = []
    if view.page > 0:
        navigation.append(
            button("« Newer", LogsPage(uuid=view.unit_uuid, page=view.page - 1, edit=True))
        )
    if view.page + 1 < view.pages:
        navigation.append(
            button("Older »", LogsPage(uuid=view.unit_uuid, page=view.page + 1, edit=True))
        )
    return View("\n".join(lines), keyboard([navigation]))
