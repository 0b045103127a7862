"""The API documentation pages, served with no CDN: Swagger UI at `{prefix}/docs`, ReDoc at
`{prefix}/redoc`, and the OpenAPI document also at `{prefix}/openapi.json`.

The JavaScript and CSS come from the `fastapi-offline` package (pinned in constraints.txt), which
ships Swagger UI's and ReDoc's standalone builds; they are served from `{prefix}/docs-assets/`.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = "fastapi_offline"


def assets_directory() -> Path:
    return Path(str(files(ASSETS_PACKAGE) / "static"))


def install_docs(app: FastAPI, app_prefix: str, openapi_url: str) -> None:
    """Adds the documentation pages and their assets to `app` (made with `docs_url=None`,
    `redoc_url=None`)."""
    assets = f"{app_prefix}/docs-assets"
    app.mount(assets, StaticFiles(directory=assets_directory()), name="docs-assets")

    # Plain Starlette routes, as FastAPI's own docs routes are: not API operations.
    async def swagger_ui(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            # Swagger UI would otherwise send the document to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def redoc(_request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )

    async def openapi_document(_request: Request) -> JSONResponse:
        """Where people look for it first; its home is under the API prefix, as in the
        reference. Served, not redirected: some clients do not follow redirects."""
        return JSONResponse(app.openapi())

    app.add_route(f"{app_prefix}/docs", swagger_ui, include_in_schema=False)
    app.add_route(f"{app_prefix}/redoc", redoc, include_in_schema=False)
    if openapi_url != f"{app_prefix}/openapi.json":
        app.add_route(f"{app_prefix}/openapi.json", openapi_document, include_in_schema=False)
