"""The broker authorisation hook's request and answer (`POST /units/auth`)."""

from pydantic import BaseModel, Field

from control_plane.services.broker_access import Decision


class BrokerAuthRequest(BaseModel):
    """What an EMQX-style HTTP authoriser sends; other keys (clientid, ...) are ignored."""

    token: str | None = Field(description="The client's MQTT username: a unit or Backend token.")
    topic: str = Field(description="The topic published to, or the filter subscribed to.")
    action: str | int = Field(
        description='"publish" or "subscribe" (any case; also "pub"/"sub", and EMQX 4\'s 2/1).'
    )


class BrokerAuthResult(BaseModel):
    result: Decision
