"""What a resolver works with: the app's context and the caller's token.

Services are synchronous and use the database, so every resolver runs its service call in a
worker thread with a session of its own (`GraphQLContext.call`): root fields of a query run
concurrently, and a session must not be shared between threads. The caller is resolved from
the token in that same session, once per root field, as REST resolves it once per request; a
bad token fails each field (with the REST route's 401/403), not the whole request.
"""

from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from control_plane.context import ControlPlaneContext
from control_plane.graphql.errors import graphql_error
from control_plane.security import Agent
from control_plane.services.errors import ServiceError
from control_plane.services.users.agents import agent_of_token

T = TypeVar("T")


class GraphQLContext(BaseContext):
    def __init__(
        self,
        app_context: ControlPlaneContext,
        token: str | None,
        token_error: ServiceError | None = None,
    ) -> None:
        super().__init__()
        self.app = app_context
        self.token = token
        self.token_error = token_error
        """Why the request's auth headers could not be read (each field fails with it)."""

    def call_in_thread(self, work: Callable[[Session, Agent], T]) -> T:
        """`work(session, caller)` in a new session; a refusal becomes a GraphQL error."""
        if self.token_error is not None:
            raise graphql_error(self.token_error)
        with self.app.session_factory() as session:
            try:
                return work(session, agent_of_token(session, self.app.settings, self.token))
            except ServiceError as error:
                raise graphql_error(error) from error

    async def call(self, work: Callable[[Session, Agent], T]) -> T:
        """`call_in_thread` off the event loop."""
        return await to_thread.run_sync(self.call_in_thread, work)


GraphQLInfo = Info[GraphQLContext, None]
"""What a resolver's `info` argument is."""
