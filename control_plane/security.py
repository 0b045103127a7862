"""Who is calling (agents), the JWTs that say so, and password hashing.

JWTs are HS256, signed with `PU_SECRET_KEY` used as-is: the UTF-8 bytes of its base64 text,
not the 32 decoded bytes. The reference backend and DataPipe sign that way, so tokens already
flashed onto devices stay valid after a move to this implementation.
"""

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import NAMESPACE_DNS, UUID, uuid5

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.db.enums import UserRole
from pepeunit_core.db.models import User

logger = logging.getLogger("pepeunit.security")

JWT_ALGORITHM = "HS256"
DYNAMIC_SALT_BYTES = 16


class AgentType(StrEnum):
    """Kinds of callers, with the reference's names (the `type` claim of a token)."""

    BOT = "Bot"
    USER = "User"
    UNIT = "Unit"
    BACKEND = "Backend"
    GRAFANA = "Grafana"
    GRAFANA_UNIT_NODE = "GrafanaUnitNode"


@dataclass(frozen=True)
class Agent:
    """The caller of a request. `Bot` is anonymous (no token) and has no uuid.

    `user` is the caller's row for User agents, loaded in the request's session.
    """

    type: AgentType
    uuid: UUID | None = None
    user: User | None = None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == UserRole.ADMIN


ANONYMOUS = Agent(AgentType.BOT)


class TokenError(ValueError):
    """The token is malformed, badly signed, expired or of an unknown kind."""


@dataclass(frozen=True)
class TokenClaims:
    type: AgentType
    uuid: UUID
    domain: str | None = None
    """Only for Backend tokens, which name the instance instead of an entity."""


def backend_uuid(domain: str) -> UUID:
    """The Backend agent's uuid, as in the reference: uuid5(NAMESPACE_DNS, PU_DOMAIN)."""
    return uuid5(NAMESPACE_DNS, domain)


def make_unit_token(unit_uuid: UUID, secret_key: str) -> str:
    """The permanent token of a unit: claims exactly `{"uuid":"…","type":"Unit"}`, no expiry.

    PyJWT serialises claims with separators (",", ":") in insertion order, which is the compact
    form MicroPython clients search for (`"uuid":"`). Deterministic for a given key.
    """
    return _sign({"uuid": str(unit_uuid), "type": AgentType.UNIT.value}, secret_key)


def make_user_token(
    user_uuid: UUID, secret_key: str, lifetime_s: int, now: datetime | None = None
) -> str:
    """A user's login token: `{"uuid", "type": "User", "exp"}`."""
    expires = (now or datetime.now(UTC)) + timedelta(seconds=lifetime_s)
    claims = {"uuid": str(user_uuid), "type": AgentType.USER.value, "exp": int(expires.timestamp())}
    return _sign(claims, secret_key)


def make_backend_token(domain: str, secret_key: str) -> str:
    """The instance's own token (DataPipe, broker integrations): `{"domain", "type"}`."""
    return _sign({"domain": domain, "type": AgentType.BACKEND.value}, secret_key)


def _sign(claims: dict[str, Any], secret_key: str) -> str:
    return jwt.encode(claims, secret_key, algorithm=JWT_ALGORITHM)


def decode_token(token: str, secret_key: str) -> TokenClaims:
    """The verified claims of `token`; raises TokenError for anything else.

    User tokens must carry `exp`; Unit and Backend tokens are permanent by design.
    """
    try:
        claims = jwt.decode(token, secret_key, algorithms=[JWT_ALGORITHM])
    except jwt.ExpiredSignatureError as error:
        raise TokenError("Token expired") from error
    except jwt.PyJWTError as error:
        raise TokenError("Token is invalid") from error
    try:
        agent_type = AgentType(claims.get("type"))
    except ValueError:
        raise TokenError("Invalid agent type") from None
    if agent_type is AgentType.BACKEND:
        domain = claims.get("domain")
        if not isinstance(domain, str):
            raise TokenError("Token is invalid")
        return TokenClaims(agent_type, backend_uuid(domain), domain)
    if agent_type is AgentType.USER and "exp" not in claims:
        raise TokenError("Token is invalid")
    return TokenClaims(agent_type, _claimed_uuid(claims))


def _claimed_uuid(claims: dict[str, Any]) -> UUID:
    value = claims.get("uuid")
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise TokenError("Token is invalid")


class HashedPassword(NamedTuple):
    cipher_dynamic_salt: str
    hashed_password: str


class PasswordHashing:
    """argon2id over the user's dynamic salt followed by the password.

    The dynamic salt is 16 random bytes (base64) kept AES-GCM encrypted in
    `users.cipher_dynamic_salt`, as in the reference; here it acts as a per-user pepper: a
    copy of the database without `PU_ENCRYPT_KEY` is not enough to guess passwords offline.
    Like every encrypted field, it makes passwords unverifiable if that key changes. argon2's
    own salt and cost parameters live in the hash string, so old hashes keep verifying when
    the parameters change.
    """

    def __init__(self, cipher: Cipher, hasher: PasswordHasher | None = None) -> None:
        self._cipher = cipher
        self._hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> HashedPassword:
        salt = base64.b64encode(secrets.token_bytes(DYNAMIC_SALT_BYTES)).decode()
        return HashedPassword(
            self._cipher.encrypt(salt), self._hasher.hash(_secret(salt, password))
        )

    def verify(self, password: str, stored: HashedPassword) -> bool:
        try:
            salt = self._cipher.decrypt(stored.cipher_dynamic_salt)
            return self._hasher.verify(stored.hashed_password, _secret(salt, password))
        except VerificationError:
            return False
        except (DecryptionError, InvalidHashError):
            logger.warning("a stored password cannot be checked: damaged row or changed key")
            return False


def _secret(salt: str, password: str) -> bytes:
    # surrogatepass: any str has bytes to hash, even one no JSON request could carry.
    return (salt + password).encode("utf-8", "surrogatepass")
