"""Adds the console to the app: its pages under `{PU_APP_PREFIX}/` and `static/` under
`{PU_APP_PREFIX}/static`."""

from fastapi import FastAPI

from control_plane.console.pages import console_pages
from control_plane.console.static_files import ConsoleStaticFiles


def install_console(app: FastAPI, app_prefix: str) -> None:
    """Call after the API's routes: the console's paths never shadow theirs."""
    app.mount(f"{app_prefix}/static", ConsoleStaticFiles(), name="console-static")
    app.include_router(console_pages, prefix=app_prefix)
