"""Each user's credentials in one encrypted JSON text, in the reference's format."""

import base64
import json
import os
from uuid import uuid4

import pytest

from control_plane.services.registry.credentials import (
    CredentialsEntry,
    CredentialsStatus,
    CredentialsStoreError,
    first_valid_credentials,
    get_user_credentials,
    load_credentials,
    set_user_credentials,
    verify_credentials,
)
from control_plane.services.registry.git_command import GitCredentials, InvalidCredentialsError
from pepeunit_core.crypto import Cipher
from pepeunit_core.db.models import RepositoryRegistry
from tests.services.ports import LOOPBACK, free_loopback_port


def new_cipher() -> Cipher:
    return Cipher(base64.b64encode(os.urandom(32)).decode())


def entry(username: str, status: CredentialsStatus) -> CredentialsEntry:
    return CredentialsEntry(GitCredentials(username, f"token-of-{username}"), status)


def test_entries_are_stored_encrypted_in_the_reference_format():
    cipher, registry = new_cipher(), RepositoryRegistry()
    alice, bob = uuid4(), uuid4()
    set_user_credentials(
        registry, cipher, alice, entry("alice", CredentialsStatus.ERROR), max_length=10_000
    )
    set_user_credentials(
        registry, cipher, bob, entry("bob", CredentialsStatus.VALID), max_length=10_000
    )

    text = registry.cipher_credentials_private_repository
    assert "token-of" not in text
    assert json.loads(cipher.decrypt(text)) == {
        str(alice): {
            "credentials": {"username": "alice", "pat_token": "token-of-alice"},
            "status": "Error",
        },
        str(bob): {
            "credentials": {"username": "bob", "pat_token": "token-of-bob"},
            "status": "Valid",
        },
    }
    assert get_user_credentials(registry, cipher, bob) == entry("bob", CredentialsStatus.VALID)
    assert get_user_credentials(registry, cipher, uuid4()) is None
    assert first_valid_credentials(registry, cipher) == GitCredentials("bob", "token-of-bob")


def test_replacing_an_entry_keeps_the_others():
    cipher, registry = new_cipher(), RepositoryRegistry()
    alice, bob = uuid4(), uuid4()
    set_user_credentials(
        registry, cipher, alice, entry("alice", CredentialsStatus.VALID), max_length=10_000
    )
    set_user_credentials(
        registry, cipher, bob, entry("bob", CredentialsStatus.VALID), max_length=10_000
    )
    set_user_credentials(
        registry, cipher, alice, entry("alice2", CredentialsStatus.ERROR), max_length=10_000
    )

    stored = load_credentials(registry, cipher)
    assert stored == {
        alice: entry("alice2", CredentialsStatus.ERROR),
        bob: entry("bob", CredentialsStatus.VALID),
    }


def test_unreadable_or_too_long_credentials_are_refused():
    registry = RepositoryRegistry()
    set_user_credentials(
        registry, new_cipher(), uuid4(), entry("a", CredentialsStatus.VALID), max_length=10_000
    )
    with pytest.raises(CredentialsStoreError, match="cannot be read"):
        load_credentials(registry, new_cipher())
    with pytest.raises(CredentialsStoreError, match="Too many"):
        set_user_credentials(
            RepositoryRegistry(),
            new_cipher(),
            uuid4(),
            entry("a", CredentialsStatus.VALID),
            max_length=50,
        )
    assert first_valid_credentials(RepositoryRegistry(), new_cipher()) is None


@pytest.mark.parametrize(
    ("username", "token"), [("", "t"), ("u", ""), ("u", "a\nb"), ("u\x00", "t")]
)
def test_credentials_git_cannot_pass_on_are_refused(username, token):
    with pytest.raises(InvalidCredentialsError):
        GitCredentials(username, token)


def test_verify_credentials(unit_repository, git_http_server, right_credentials, wrong_credentials):
    url = git_http_server.url("unit")
    assert verify_credentials(url, right_credentials) is CredentialsStatus.VALID
    assert verify_credentials(url, wrong_credentials) is CredentialsStatus.ERROR
    unreachable = f"http://{LOOPBACK}:{free_loopback_port()}/unit.git"
    assert verify_credentials(unreachable, right_credentials) is CredentialsStatus.NOT_VERIFIED
