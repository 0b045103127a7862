"""The messages and buttons of `/registry`, `/repo` and `/dashboard`, made from what
`catalog_queries` returns; no I/O."""

from typing import Any

from aiogram.types import InlineKeyboardButton

from control_plane.bot.callbacks import (
    DashboardsPage,
    RegistriesPage,
    RegistryReposPage,
    RegistrySync,
    RegistryView,
    ReposPage,
    RepoUnitsPage,
    RepoUnitsUpdate,
    RepoView,
    UnitView,
)
from control_plane.bot.catalog_queries import (
    DashboardsPageView,
    Listing,
    RegistriesPageView,
    RegistryDetailView,
    RepoDetailView,
    ReposPageView,
    RepoUnitsPageView,
)
from control_plane.bot.views import View, button, escape, keyboard, moment, short_commit

BRANCHES_SHOWN = 10
"""A registry's detail lists this many branches, then says how many more there are."""
MEGABYTE = 1024 * 1024


def _navigation(page: int, pages: int, to_page: Any) -> list[InlineKeyboardButton]:
    """« Back / Next » buttons; `to_page(n)` is the callback of page n."""
    buttons = []
    if page > 0:
        buttons.append(button("« Back", to_page(page - 1)))
    if page + 1 < pages:
        buttons.append(button("Next »", to_page(page + 1)))
    return buttons


def _title(name: str, listing: Listing) -> str:
    title = f"Your {name}" if listing.mine else name.capitalize()
    if listing.search:
        title += f" matching “{escape(listing.search)}”"
    return f"<b>{title}</b>"


def _heading(name: str, listing: Listing) -> str:
    return f"{_title(name, listing)} ({listing.count}), page {listing.page + 1}/{listing.pages}"


# --- registries -------------------------------------------------------------------------------


def registries_view(view: RegistriesPageView) -> View:
    listing = view.listing
    if not view.registries:
        return View(f"{_title('registries', listing)}: none you can see.")
    lines = [_heading("registries", listing)]
    buttons = []
    for registry in view.registries:
        access = "public" if registry.is_public_repository else "private"
        lines.append(f"• {escape(registry.repository_url)} — {registry.platform}, {access}")
        buttons.append(
            [button(_url_label(registry.repository_url), RegistryView(uuid=registry.uuid))]
        )
    navigation = _navigation(
        listing.page,
        listing.pages,
        lambda page: RegistriesPage(page=page, mine=listing.mine, search=listing.search),
    )
    return View("\n".join(lines), keyboard([*buttons, navigation]))


def _url_label(url: str) -> str:
    """A button's text for a repository URL: its last two path parts (owner/name)."""
    parts = [part for part in url.removesuffix(".git").split("/") if part]
    return "/".join(parts[-2:]) or url


def registry_view(view: RegistryDetailView) -> View:
    registry = view.registry
    access = "public" if registry.is_public_repository else "private"
    lines = [
        f"<b>{escape(registry.repository_url)}</b>",
        f"Platform: {registry.platform}, {access}",
        f"Local copy: {registry.local_repository_size / MEGABYTE:.1f} MB",
        f"Sync: {registry.sync_status or 'never'} ({moment(registry.sync_last_datetime)})",
    ]
    if registry.sync_error:
        lines.append(f"  {escape(registry.sync_error)}")
    branches = registry.branches
    if branches:
        shown = ", ".join(escape(branch) for branch in branches[:BRANCHES_SHOWN])
        more = (
            f" and {len(branches) - BRANCHES_SHOWN} more" if len(branches) > BRANCHES_SHOWN else ""
        )
        lines.append(f"Branches ({len(branches)}): {shown}{more}")
    else:
        lines.append("Branches: none yet (not synced)")
    if view.linked and not registry.is_public_repository:
        status = view.credentials.value if view.credentials else "none stored"
        lines.append(f"Your credentials: {status}")
    lines.append(f"Repos you can see: {view.repo_count}")
    actions = []
    if view.linked:
        actions.append(button("Update Local Registry", RegistrySync(uuid=registry.uuid)))
    if view.repo_count:
        actions.append(button("Repos", RegistryReposPage(uuid=registry.uuid, page=0, edit=False)))
    return View("\n".join(lines), keyboard([actions]))


# --- repos ------------------------------------------------------------------------------------


def repos_view(view: ReposPageView) -> View:
    listing = view.listing
    name = "repos" if view.registry_uuid is None else "repos of the registry"
    if not view.repos:
        return View(f"{_title(name, listing)}: none you can see.")
    lines = [_heading(name, listing)]
    buttons = []
    for repo in view.repos:
        branch = f", {escape(repo.default_branch)}" if repo.default_branch else ""
        lines.append(f"• <b>{escape(repo.name)}</b> — {repo.visibility_level}{branch}")
        buttons.append([button(repo.name, RepoView(uuid=repo.uuid))])
    registry_uuid = view.registry_uuid
    if registry_uuid is None:
        navigation = _navigation(
            listing.page,
            listing.pages,
            lambda page: ReposPage(page=page, mine=listing.mine, search=listing.search),
        )
    else:
        navigation = _navigation(
            listing.page,
            listing.pages,
            lambda page: RegistryReposPage(uuid=registry_uuid, page=page, edit=True),
        )
    return View("\n".join(lines), keyboard([*buttons, navigation]))


def _update_policy(view: RepoDetailView) -> str:
    repo = view.repo
    if not repo.is_auto_update_repo:
        return f"fixed at {short_commit(repo.default_commit)}"
    if repo.is_compilable_repo or repo.is_only_tag_update:
        return "follows the newest tag"
    return "follows the newest commit"


def repo_view(view: RepoDetailView) -> View:
    repo = view.repo
    lines = [
        f"<b>{escape(repo.name)}</b> ({repo.visibility_level})",
        f"Registry: {escape(view.registry_url)}",
        f"Branch: {escape(repo.default_branch or 'none')}",
        f"Updates: {_update_policy(view)}",
        f"Compiled firmware: {'yes' if repo.is_compilable_repo else 'no'}",
    ]
    if view.target is not None:
        tag = f" ({escape(view.target.tag)})" if view.target.tag else ""
        lines.append(f"Target version: {short_commit(view.target.commit)}{tag}")
    lines.append(f"Units: {view.unit_count}")
    for version in view.versions:
        tag = f" ({escape(version.tag)})" if version.tag else ""
        lines.append(f"  {short_commit(version.commit)}{tag}: {version.unit_count}")
    uuid = repo.uuid
    actions = [button("Registry", RegistryView(uuid=repo.repository_registry_uuid))]
    if view.unit_count:
        actions.append(button("Units", RepoUnitsPage(uuid=uuid, page=0, edit=False)))
    owner = [button("Update Related Units", RepoUnitsUpdate(uuid=uuid))] if view.is_owner else []
    return View("\n".join(lines), keyboard([actions, owner]))


def repo_units_view(view: RepoUnitsPageView) -> View:
    title = f"<b>Units of {escape(view.repo_name)}</b>"
    if not view.units:
        return View(f"{title}: none you can see.")
    lines = [f"{title} ({view.count}), page {view.page + 1}/{view.pages}"]
    buttons = []
    for unit in view.units:
        lines.append(
            f"• <b>{escape(unit.name)}</b> — {unit.visibility_level}, "
            f"v {short_commit(unit.current_commit_version)}"
        )
        buttons.append([button(unit.name, UnitView(uuid=unit.uuid))])
    navigation = _navigation(
        view.page,
        view.pages,
        lambda page: RepoUnitsPage(uuid=view.repo_uuid, page=page, edit=True),
    )
    return View("\n".join(lines), keyboard([*buttons, navigation]))


def repo_update_sent_view(name: str, units: int, failed: int) -> View:
    if not units:
        return View(f"<b>{escape(name)}</b> has no units that follow it: nothing to update.")
    sent = units - failed
    text = f"✅ Update sent to {sent} of {units} unit(s) of <b>{escape(name)}</b>."
    if failed:
        text += f" {failed} could not be asked (see each unit's update status)."
    return View(text)


# --- dashboards -------------------------------------------------------------------------------


def dashboards_view(view: DashboardsPageView) -> View:
    if not view.linked:
        return View("Dashboards are their creator's alone: link this chat to your account (/help).")
    if not view.dashboards:
        return View("<b>Your dashboards</b>: none yet.")
    lines = [f"<b>Your dashboards</b> ({view.count}), page {view.page + 1}/{view.pages}"]
    for dashboard in view.dashboards:
        name = escape(dashboard.name)
        if dashboard.dashboard_url:
            url = escape(dashboard.dashboard_url).replace('"', "&quot;")
            lines.append(f'• <a href="{url}">{name}</a>')
        else:
            status = dashboard.sync_status or "never synced"
            lines.append(f"• {name} — not in Grafana yet ({status})")
    navigation = _navigation(view.page, view.pages, lambda page: DashboardsPage(page=page))
    return View("\n".join(lines), keyboard([navigation]))
