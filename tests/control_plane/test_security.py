"""Token formats (byte for byte, as devices read them) and password hashing."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_DNS, UUID, uuid4, uuid5

import jwt
import pytest

from control_plane.security import (
    AgentType,
    HashedPassword,
    PasswordHashing,
    TokenClaims,
    TokenError,
    decode_token,
    make_backend_token,
    make_unit_token,
    make_user_token,
)
from pepeunit_core.crypto import Cipher

from .conftest import CHEAP_ARGON2, ENCRYPT_KEY, SECRET_KEY

UNIT = UUID("5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_unit_token_is_exactly_the_reference_compact_form():
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(f'{{"uuid":"{UNIT}","type":"Unit"}}'.encode())
    signature = hmac.new(SECRET_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    expected = f"{header}.{payload}.{_b64url(signature.digest())}"

    assert make_unit_token(UNIT, SECRET_KEY) == expected
    assert decode_token(expected, SECRET_KEY) == TokenClaims(AgentType.UNIT, UNIT)


def test_unit_token_payload_is_what_micropython_searches_for():
    payload = make_unit_token(UNIT, SECRET_KEY).split(".")[1]
    decoded = base64.b64decode(payload + "=" * (-len(payload) % 4))
    assert b'"uuid":"' in decoded and b" " not in decoded
    assert json.loads(decoded) == {"uuid": str(UNIT), "type": "Unit"}


def test_user_token_expires():
    user = uuid4()
    now = datetime.now(UTC)
    token = make_user_token(user, SECRET_KEY, 3600, now=now)
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    assert claims == {"uuid": str(user), "type": "User", "exp": int(now.timestamp()) + 3600}
    assert decode_token(token, SECRET_KEY) == TokenClaims(AgentType.USER, user)

    expired = make_user_token(user, SECRET_KEY, 3600, now=now - timedelta(hours=2))
    with pytest.raises(TokenError, match="Token expired"):
        decode_token(expired, SECRET_KEY)


def test_backend_token_names_the_instance():
    token = make_backend_token("pepeunit.test", SECRET_KEY)
    assert jwt.decode(token, SECRET_KEY, algorithms=["HS256"]) == {
        "domain": "pepeunit.test",
        "type": "Backend",
    }
    claims = decode_token(token, SECRET_KEY)
    assert claims == TokenClaims(
        AgentType.BACKEND, uuid5(NAMESPACE_DNS, "pepeunit.test"), "pepeunit.test"
    )


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b.c",
        make_unit_token(UNIT, "another-key-of-at-least-32-bytes!!"),
        jwt.encode({"uuid": str(UNIT), "type": "User"}, SECRET_KEY),
        jwt.encode({"uuid": str(UNIT), "type": "Admin"}, SECRET_KEY),
        jwt.encode({"uuid": "not-a-uuid", "type": "Unit"}, SECRET_KEY),
        jwt.encode({"uuid": [str(UNIT)], "type": "Unit"}, SECRET_KEY),
        jwt.encode({"type": "Backend"}, SECRET_KEY),
        jwt.encode({"uuid": str(UNIT), "type": "Unit"}, None, algorithm="none"),
        jwt.encode({"uuid": str(UNIT), "type": "Unit"}, "k" * 64, algorithm="HS512"),
    ],
)
def test_bad_tokens_raise_token_error(token: str):
    with pytest.raises(TokenError):
        decode_token(token, SECRET_KEY)


def test_password_hashing_round_trip():
    cipher = Cipher(ENCRYPT_KEY)
    passwords = PasswordHashing(cipher, CHEAP_ARGON2)
    stored = passwords.hash("correct-horse")
    assert stored.hashed_password.startswith("$argon2id$")
    assert len(base64.b64decode(cipher.decrypt(stored.cipher_dynamic_salt))) == 16
    assert passwords.verify("correct-horse", stored)
    assert not passwords.verify("correct-horse!", stored)
    assert not passwords.verify("\ud800 lone surrogate", stored)
    assert passwords.hash("correct-horse") != stored


def test_password_checks_fail_closed_on_damaged_rows_or_another_key():
    passwords = PasswordHashing(Cipher(ENCRYPT_KEY), CHEAP_ARGON2)
    stored = passwords.hash("correct-horse")
    other_key = PasswordHashing(Cipher(base64.b64encode(b"k" * 32).decode()), CHEAP_ARGON2)
    assert not other_key.verify("correct-horse", stored)
    assert not passwords.verify("correct-horse", stored._replace(hashed_password="garbage"))
    assert not passwords.verify("correct-horse", HashedPassword("salt", "hash"))


def test_default_cost_is_argon2_cffi_default():
    passwords = PasswordHashing(Cipher(ENCRYPT_KEY))
    stored = passwords.hash("correct-horse")
    assert stored.hashed_password.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
