"""What the bot's buttons carry (Telegram allows 64 bytes): the page or unit they act on."""

from enum import StrEnum
from uuid import UUID

from aiogram.filters.callback_data import CallbackData

from control_plane.services.units.commands import UnitCommand


class UnitsPage(CallbackData, prefix="units"):
    page: int
    mine: bool


class UnitView(CallbackData, prefix="unit"):
    uuid: UUID


class UnitCommandCall(CallbackData, prefix="cmd"):
    uuid: UUID
    command: UnitCommand


class UnitDownload(StrEnum):
    ENV = "env"
    ZIP = "zip"
    TAR = "tar"
    TGZ = "tgz"


class UnitFileCall(CallbackData, prefix="file"):
    uuid: UUID
    file: UnitDownload


class LogsPage(CallbackData, prefix="logs"):
    uuid: UUID
    page: int
    edit: bool
    """Paging within the logs message (else the logs come as a new message)."""


class RegistriesPage(CallbackData, prefix="regs"):
    page: int
    mine: bool
    search: str


class RegistryView(CallbackData, prefix="reg"):
    uuid: UUID


class RegistrySync(CallbackData, prefix="regsync"):
    uuid: UUID


class ReposPage(CallbackData, prefix="repos"):
    page: int
    mine: bool
    search: str


class RegistryReposPage(CallbackData, prefix="regrepos"):
    uuid: UUID
    page: int
    edit: bool


class RepoView(CallbackData, prefix="repo"):
    uuid: UUID


class RepoUnitsUpdate(CallbackData, prefix="repoupd"):
    uuid: UUID


class RepoUnitsPage(CallbackData, prefix="repounits"):
    uuid: UUID
    page: int
    edit: bool
    """Paging within the list's message (else the list comes as a new message)."""


class DashboardsPage(CallbackData, prefix="dash"):
    page: int
