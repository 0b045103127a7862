"""The unit's uuid from its JWT (PU_AUTH_TOKEN), read with the standard library.

The signature is the platform's business; the unit only needs the `uuid` claim.
"""

import base64
import binascii
import json

from ._errors import InvalidTokenError

__all__ = ["unit_uuid_from_token"]


def unit_uuid_from_token(token: str) -> str:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenError("PU_AUTH_TOKEN is not a JWT (three dot-separated parts)")
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvalidTokenError(f"PU_AUTH_TOKEN's payload is not base64url JSON: {error}") from None
    uuid = claims.get("uuid") if isinstance(claims, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise InvalidTokenError("PU_AUTH_TOKEN's payload has no `uuid` claim")
    return uuid
