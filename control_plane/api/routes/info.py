"""`GET {PU_APP_PREFIX}`: what this instance is, where its APIs live, and which features it has."""

from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata

from fastapi import APIRouter

from control_plane.api.deps import SettingsDep
from control_plane.models.info import FeatureFlags, InstanceInfo

NAME = "Pepeunit"


@dataclass(frozen=True)
class _Package:
    version: str
    summary: str
    license: str | None
    authors: list[str]


@cache
def _package() -> _Package:
    try:
        package = metadata("pepeunit")
    except PackageNotFoundError:
        return _Package("0+unknown", "", None, [])
    license_text = package.get("License-Expression") or package.get("License")
    authors = [
        author for key in ("Author", "Author-email") for author in package.get_all(key) or []
    ]
    return _Package(package["Version"], package.get("Summary", ""), license_text, authors)


def get_instance_info(settings: SettingsDep) -> InstanceInfo:
    package = _package()
    base = f"{'https' if settings.secure else 'http'}://{settings.domain}{settings.app_prefix}"
    return InstanceInfo(
        name=NAME,
        version=package.version,
        description=package.summary,
        license=package.license,
        authors=package.authors,
        swagger=f"{base}/docs",
        graphql=f"{base}/graphql",
        grafana=settings.grafana_url,
        telegram_bot=settings.telegram_bot_link,
        feature_flags=FeatureFlags(
            pu_ff_telegram_bot_enable=settings.telegram_token is not None,
            pu_ff_grafana_integration_enable=settings.grafana_url is not None,
            pu_ff_datapipe_enable=True,
            pu_ff_datapipe_default_last_value_enable=settings.ff_datapipe_default_last_value_enable,
            pu_ff_prometheus_enable=False,
        ),
    )


def make_router(app_prefix: str) -> APIRouter:
    """The route sits at the bare prefix (`/pepeunit`, no trailing slash), hence no router
    prefix; `/` when the prefix is empty."""
    router = APIRouter(tags=["status"])
    router.add_api_route(app_prefix or "/", get_instance_info, methods=["GET"])
    return router
