"""`{PU_APP_PREFIX}/graphql` on the FastAPI app: HTTP, and WebSocket for subscriptions
(`graphql-transport-ws`, and the older `graphql-ws`)."""

from typing import Any

from cross_web import HTTPException
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UnsetType

from control_plane.api.deps import AUTH_HEADER, get_context, presented_token
from control_plane.graphql.context import GraphQLContext
from control_plane.graphql.explorer import explorer_page
from control_plane.graphql.limits import BodySizeLimit
from control_plane.graphql.schema import build_schema
from control_plane.services.errors import ServiceError
from pepeunit_core.settings import Settings


def _context_of(connection: HTTPConnection) -> GraphQLContext:
    """The caller's token from the headers (a WebSocket may name it in `connection_init`
    instead, see `GraphQLContext.take_connection_token`)."""
    try:
        token = presented_token(connection, connection.headers.get(AUTH_HEADER))
    except ServiceError as error:
        return GraphQLContext(get_context(connection), None, token_error=error)
    return GraphQLContext(get_context(connection), token)


class PepeunitGraphQLRouter(GraphQLRouter[GraphQLContext, None]):
    explorer_html = ""

    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        """Our own page for a browser, instead of Strawberry's CDN-loaded IDEs."""
        return HTMLResponse(self.explorer_html)

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Transport refusals (a batch, a body that is not JSON, no query) as every other
        error of the API: `{"detail": "<text>"}`, not Strawberry's plain text."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as error:
            return JSONResponse({"detail": error.reason}, status_code=error.status_code)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        context.take_connection_token()
        return await super().on_ws_connect(context)


def install_graphql(app: FastAPI, settings: Settings) -> None:
    path = f"{settings.app_prefix}/graphql"
    router = PepeunitGraphQLRouter(
        build_schema(settings),
        path=path,
        context_getter=_context_of,
        multipart_uploads_enabled=True,
        # Strawberry's IDE pages load their scripts from a CDN, so a browser gets our own
        # (render_graphql_ide); "graphiql" only turns the browser page on.
        graphql_ide="graphiql",
        # As in 1.x, GraphQL is not part of the OpenAPI document.
        include_in_schema=False,
        allowed_origins=settings.cors_origins,
    )
    router.explorer_html = explorer_page(path, f"{settings.app_prefix}/docs")
    app.include_router(router)
    app.add_middleware(BodySizeLimit, path=path, settings=settings)
