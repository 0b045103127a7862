"""Cross-origin requests from browser pages on the origins an operator lists in
`PU_CORS_ORIGINS` (docs/graphql.md#cors), for the whole app: REST, GraphQL and its WebSocket
(whose handshake Strawberry checks against the same list). No origin is listed by default, so
browsers keep every other site's pages from reading the API's answers."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from control_plane.api.deps import AUTH_HEADER
from pepeunit_core.settings import Settings

MAX_AGE_S = 600
"""How long a browser may reuse a preflight answer."""


def install_cors(app: FastAPI, settings: Settings) -> None:
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[AUTH_HEADER, "authorization", "content-type"],
        max_age=MAX_AGE_S,
    )
