"""`{PU_APP_PREFIX}/graphql` on the FastAPI app."""

from fastapi import FastAPI, Request
from strawberry.fastapi import GraphQLRouter

from control_plane.api.deps import AUTH_HEADER, get_context, presented_token
from control_plane.graphql.context import GraphQLContext
from control_plane.graphql.schema import build_schema
from control_plane.services.errors import ServiceError


def _context_of(request: Request) -> GraphQLContext:
    try:
        token = presented_token(request, request.headers.get(AUTH_HEADER))
    except ServiceError as error:
        return GraphQLContext(get_context(request), None, token_error=error)
    return GraphQLContext(get_context(request), token)


def install_graphql(app: FastAPI, app_prefix: str) -> None:
    router: GraphQLRouter = GraphQLRouter(
        build_schema(),
        path=f"{app_prefix}/graphql",
        context_getter=_context_of,
        multipart_uploads_enabled=True,
        # Strawberry's IDE pages load their scripts from a CDN: nothing here may.
        graphql_ide=None,
        # As in 1.x, GraphQL is not part of the OpenAPI document.
        include_in_schema=False,
    )
    app.include_router(router)
