"""Every router of the API, assembled in one place."""

from fastapi import APIRouter

from . import (
    broker_auth,
    dashboards,
    data_pipe,
    info,
    metrics,
    permissions,
    repos,
    repository_registry,
    rollouts,
    telegram_bot,
    unit_device,
    unit_nodes,
    units,
    user_export,
    users,
)

api_router = APIRouter()
"""Everything under `{PU_APP_PREFIX}{PU_API_V1_PREFIX}`."""
api_router.include_router(user_export.router)  # before users: /users/{uuid}
api_router.include_router(users.router)
api_router.include_router(repository_registry.router)
api_router.include_router(repos.router)
api_router.include_router(rollouts.router)
api_router.include_router(data_pipe.router)
api_router.include_router(unit_device.router)
api_router.include_router(broker_auth.router)  # before units: /units/{uuid}
api_router.include_router(units.router)
api_router.include_router(unit_nodes.router)
api_router.include_router(permissions.router)
api_router.include_router(metrics.router)
api_router.include_router(dashboards.router)
api_router.include_router(telegram_bot.router)

make_info_router = info.make_router

__all__ = ["api_router", "make_info_router"]
