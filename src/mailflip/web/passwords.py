"""Portal passwords: argon2id hashes (argon2-cffi), and what a new password must be."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailflip.errors import InvalidInput

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# a well-formed hash of nothing anyone knows: an unknown account costs a verify too, so
# the answer's timing does not tell which accounts exist
_DECOY = _hasher.hash("decoy password nobody has")


def hash_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"at least {MIN_LENGTH} characters")
    if password.strip() != password or len(set(password)) < 4:
        raise InvalidInput(field, "too easy to guess (repeated characters or spaces "
                                  "at either end)")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
