"""Every page of the console, assembled in one place (a module per page or group of pages;
each makes its router with `routing.console_router()`)."""

from control_plane.console.routing import console_router

from . import (
    access,
    alerts,
    graph,
    node_data,
    node_pipeline,
    not_yet,
    registry,
    repos,
    sign_in,
    unit,
    units,
)

console_pages = console_router()
"""Everything under `{PU_APP_PREFIX}` but `static/`."""
console_pages.include_router(sign_in.router)
console_pages.include_router(units.router)
console_pages.include_router(unit.router)  # after units: /units/rows is not a unit
console_pages.include_router(registry.router)
console_pages.include_router(repos.router)
console_pages.include_router(alerts.router)
console_pages.include_router(node_data.router)
console_pages.include_router(node_pipeline.router)
console_pages.include_router(graph.router)
console_pages.include_router(access.router)
console_pages.include_router(not_yet.router)

__all__ = ["console_pages"]
