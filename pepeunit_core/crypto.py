"""Secrets at rest: AES-256-GCM in the reference's text form `base64(nonce).base64(ciphertext)`
(12-byte random nonce, no associated data)."""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_KEY_BYTES = 32


class DecryptionError(ValueError):
    """The text is not something this key encrypted."""


class Cipher:
    def __init__(self, key_base64: str) -> None:
        key = base64.b64decode(key_base64)
        if len(key) != _KEY_BYTES:
            raise ValueError(f"the encryption key must be {_KEY_BYTES} bytes, base64-encoded")
        self._aes = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aes.encrypt(nonce, plaintext.encode("utf-8"), None)
        return f"{base64.b64encode(nonce).decode()}.{base64.b64encode(sealed).decode()}"

    def decrypt(self, text: str) -> str:
        try:
            nonce_text, sealed_text = text.split(".", 1)
            nonce, sealed = base64.b64decode(nonce_text), base64.b64decode(sealed_text)
            return self._aes.decrypt(nonce, sealed, None).decode("utf-8")
        except (ValueError, binascii.Error, InvalidTag, UnicodeDecodeError) as error:
            raise DecryptionError("cannot decrypt: wrong key or damaged text") from error
