"""`POST /units/auth`: the broker authorisation hook for EMQX-style brokers
(docs/compatibility.md#broker-login-with-the-unit-token).

The broker asks, for each publish and subscribe, `{token, topic, action}` and gets
`{"result": "allow" | "deny"}`; as an authenticator it asks `{token, clientid, action:
"connect"}` before a client opens (or takes over) a session, and the platform's own client ids
are the Backend's only. Anyone may call it (it reveals only a yes or no about the token
the caller holds), and it never fails: a body it cannot read is a deny, with 200. The
`x-auth-token` header plays no part.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from control_plane.api.deps import ContextDep
from control_plane.api.error_responses import ERROR_STATUSES_KEY
from control_plane.models.broker_auth import BrokerAuthRequest, BrokerAuthResult, Decision
from control_plane.services.broker.access import BrokerAccess, parse_action

logger = logging.getLogger("pepeunit.broker_access")

MAX_BODY_BYTES = 256 * 1024
"""Larger than any topic (64 KB) and token together; a bigger body is not a broker's question."""

router = APIRouter(prefix="/units", tags=["units"])


def get_broker_access(request: Request, context: ContextDep) -> BrokerAccess:
    """One per app, made on first use; it keeps units' allowed topics between calls."""
    access = getattr(request.app.state, "broker_access", None)
    if access is None:
        access = BrokerAccess(context.settings, context.session_factory)
        request.app.state.broker_access = access
    return access


@router.post(
    "/auth",
    response_model=BrokerAuthResult,
    openapi_extra={
        ERROR_STATUSES_KEY: [],  # a body it cannot read is a deny, with 200
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BrokerAuthRequest.model_json_schema()}},
        },
    },
)
async def authorize_broker_client(
    request: Request, access: Annotated[BrokerAccess, Depends(get_broker_access)]
) -> BrokerAuthResult:
    """May the client with this token publish to, or subscribe to, this topic?"""
    body = await request.body()
    question = _read_question(body)
    if question is None:
        return BrokerAuthResult(result=Decision.DENY)
    action = parse_action(question.action)
    topic = question.topic
    connecting = _is_connect(question.action)
    if not connecting and (action is None or topic is None):
        return BrokerAuthResult(result=Decision.DENY)
    try:  # a unit's topics may need the database: off the event loop
        if connecting:
            allowed = await run_in_threadpool(access.may_connect, question.token, question.clientid)
            decision = Decision.ALLOW if allowed else Decision.DENY
        else:
            decision = await run_in_threadpool(
                access.authorize_client, question.token, question.clientid, topic, action
            )
    except Exception:  # the broker gets an answer whatever happens; the log gets the rest
        logger.exception("broker authorisation failed; denied")
        decision = Decision.DENY
    return BrokerAuthResult(result=decision)


def _is_connect(action: object) -> bool:
    return isinstance(action, str) and action.strip().lower() == "connect"


def _read_question(body: bytes) -> BrokerAuthRequest | None:
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        return BrokerAuthRequest.model_validate_json(body)
    except ValidationError:
        return None
