"""`GET {PU_APP_PREFIX}`: what this instance is, and where its API documentation lives."""

from functools import cache
from importlib.metadata import PackageNotFoundError, metadata

from fastapi import APIRouter

from control_plane.api.deps import SettingsDep
from control_plane.models.info import InstanceInfo

NAME = "Pepeunit"


@cache
def _package_version_and_summary() -> tuple[str, str]:
    try:
        package = metadata("pepeunit")
    except PackageNotFoundError:
        return "0+unknown", ""
    return package["Version"], package.get("Summary", "")


def get_instance_info(settings: SettingsDep) -> InstanceInfo:
    version, summary = _package_version_and_summary()
    scheme = "https" if settings.secure else "http"
    return InstanceInfo(
        name=NAME,
        version=version,
        description=summary,
        swagger=f"{scheme}://{settings.domain}{settings.app_prefix}/docs",
    )


def make_router(app_prefix: str) -> APIRouter:
    """The route sits at the bare prefix (`/pepeunit`, no trailing slash), hence no router
    prefix; `/` when the prefix is empty."""
    router = APIRouter(tags=["status"])
    router.add_api_route(app_prefix or "/", get_instance_info, methods=["GET"])
    return router
