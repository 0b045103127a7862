"""The console: web pages for people, served by the platform's own app at `{PU_APP_PREFIX}/`.

Server-rendered (Jinja2) with htmx for partial updates and Server-Sent Events for live values;
every page goes through the same services and permission checks as the REST API (`api/`).
`install_console` adds it to an app. How to add a page: docs/console.md#adding-a-page.
"""

from control_plane.console.install import install_console

__all__ = ["install_console"]
