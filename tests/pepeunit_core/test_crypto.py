import base64
import os

import pytest

from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.settings import Settings, load_or_create_secrets


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_round_trip_uses_the_reference_text_form():
    cipher = Cipher(key())
    text = cipher.encrypt('état: {"a": 1}')
    nonce, sealed = text.split(".")
    assert len(base64.b64decode(nonce)) == 12
    assert len(base64.b64decode(sealed)) == len('état: {"a": 1}'.encode()) + 16
    assert cipher.decrypt(text) == 'état: {"a": 1}'
    assert cipher.encrypt("x") != cipher.encrypt("x")  # a fresh nonce every time


@pytest.mark.parametrize("damaged", ["", "abc", "a.b", "AAAA.AAAA"])
def test_wrong_key_or_damaged_text_is_refused(damaged):
    text = Cipher(key()).encrypt("secret")
    with pytest.raises(DecryptionError):
        Cipher(key()).decrypt(text)
    with pytest.raises(DecryptionError):
        Cipher(key()).decrypt(damaged)


def test_key_must_be_32_bytes():
    with pytest.raises(ValueError, match="32 bytes"):
        Cipher(base64.b64encode(b"short").decode())


def test_generated_secrets_are_made_once_and_private(tmp_path):
    first = load_or_create_secrets(tmp_path)
    assert load_or_create_secrets(tmp_path) == first
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_secret_key == first["secret_key"]
    assert (
        Cipher(settings.resolved_encrypt_key).decrypt(
            Cipher(first["encrypt_key"]).encrypt("same key")
        )
        == "same key"
    )
