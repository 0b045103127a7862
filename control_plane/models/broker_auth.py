"""The broker authorisation hook's request and answer (`POST /units/auth`)."""

from enum import StrEnum

from pydantic import BaseModel, Field


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class BrokerAuthRequest(BaseModel):
    """What an EMQX-style HTTP authenticator or authoriser sends; other keys are ignored."""

    token: str | None = Field(description="The client's MQTT username: a unit or Backend token.")
    topic: str | None = Field(
        default=None,
        description="The topic published to, or the filter subscribed to (not for connect).",
    )
    action: str | int = Field(
        description='"publish" or "subscribe" (any case; also "pub"/"sub", and EMQX 4\'s 2/1), '
        'or "connect" to ask whether the client may connect with `clientid`.'
    )
    clientid: str | None = Field(
        default=None,
        description="The client's MQTT client id: the platform's own (`pepeunit-...`) are "
        "allowed to the Backend only.",
    )


class BrokerAuthResult(BaseModel):
    result: Decision
