"""Every router of the API, assembled in one place."""

from fastapi import APIRouter

from . import data_pipe, info, repos, repository_registry, users

api_router = APIRouter()
"""Everything under `{PU_APP_PREFIX}{PU_API_V1_PREFIX}`."""
api_router.include_router(users.router)
api_router.include_router(repository_registry.router)
api_router.include_router(repos.router)
api_router.include_router(data_pipe.router)

make_info_router = info.make_router

__all__ = ["api_router", "make_info_router"]
