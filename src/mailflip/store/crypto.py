"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) over a JSON document."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from mailflip.errors import InvalidInput

from ..errors import MailflipError


class CredentialsUnreadable(MailflipError):
    """Stored credentials do not decrypt with the configured key (key changed?)."""


class CredentialCipher:
    def __init__(self, secret_key: str) -> None:
        try:
            self._fernet = Fernet(secret_key.encode())
        except ValueError:
            raise InvalidInput("secret_key", "not a Fernet key") from None

    def __repr__(self) -> str:
        return "CredentialCipher(<key hidden>)"

    def encrypt(self, secret: dict[str, Any]) -> bytes:
        if not isinstance(secret, dict):
            raise InvalidInput("secret", "must be a dict")
        try:
            plaintext = json.dumps(secret, sort_keys=True).encode()
        except TypeError:
            raise InvalidInput("secret", "values must be JSON (str, number, bool, ...)") from None
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> dict[str, Any]:
        try:
            plaintext = self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise CredentialsUnreadable(
                "stored credentials do not decrypt with MAILFLIP_SECRET_KEY"
            ) from None
        secret: dict[str, Any] = json.loads(plaintext)
        return secret
