"""Portal passwords: argon2id hashes (argon2-cffi), and what a new password must be."""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailflip.errors import InvalidInput

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# a well-formed hash of nothing anyone knows: an unknown account costs a verify too, so
# the answer's timing does not tell which accounts exist
_DECOY = _hasher.hash("decoy password nobody has")


def hash_password(password: str, field: str = "password", email: str = "") -> str:
    """The argon2id hash of a new password that passes the policy (check_password)."""
    check_password(password, field, email)
    return _hasher.hash(password)


def check_password(password: str, field: str = "password", email: str = "") -> None:
    """ASVS 6.2: at least 12 characters, no composition rules, and not among (or close
    to) the 30,000 commonest passwords shipped with zxcvbn, judged with the account's
    email as context (a password made of one's own name is guessed first)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"at least {MIN_LENGTH} characters")
    if password.strip() != password or len(set(password)) < 4:
        raise InvalidInput(field, "too easy to guess (repeated characters or spaces "
                                  "at either end)")
    from zxcvbn import zxcvbn  # 1-6 ms a password; loaded only when one is set

    if password.lower() in _common():
        raise InvalidInput(field, "too easy to guess: it is on the list of the most "
                                  "common passwords")
    context = [p for p in re.split(r"[@.+_-]", email.lower()) if len(p) > 2]
    verdict = zxcvbn(password, user_inputs=context)
    if verdict["score"] < MIN_SCORE:
        why = verdict["feedback"]["warning"] or "it is close to common passwords or words"
        raise InvalidInput(field, f"too easy to guess: {why.rstrip('.')}; a few unusual "
                                  "words make a strong one")


MIN_SCORE = 3  # zxcvbn's scale 0-4: 3 is "safely unguessable" offline, slow hash


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
