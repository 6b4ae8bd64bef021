"""Multi-factor sign-in and session management: TOTP secrets (Fernet ciphertext, like
credentials), their one-use time steps, hashed recovery codes, wrong-code lockout, a
user's sessions (list, end, re-authenticate) and the partners' MFA policy."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from mailflip.errors import InvalidInput

from .accounts import SESSION_ID_CHARS, AccountBook, SessionRow, session_row
from .mirror import upsert
from .queries import ACCOUNTS, PARTNER_POLICIES, SESSIONS


def code_hash(code: str) -> str:
    """A recovery code as kept: its SHA-256 (the codes are random, 50+ bits each)."""
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


class MfaBook(AccountBook):
    # TOTP -----------------------------------------------------------------------
    def set_totp(self, email: str, secret: str | None, recovery: list[str]) -> None:
        """Turn TOTP on with `secret` and the hashes of `recovery` codes (None: off)."""
        values: dict[str, Any] = {
            "totp_secret": self._cipher.encrypt({"totp": secret}).decode()
            if secret else None,
            "recovery_codes": [code_hash(c) for c in recovery] if secret else None,
            "totp_last_step": None, "mfa_failed": 0, "mfa_locked_until": None}
        with self._write() as conn:
            done = conn.execute(update(ACCOUNTS).where(
                ACCOUNTS.c.email == email.strip().lower()).values(**values))
        if done.rowcount == 0:
            raise InvalidInput("email", f"no account {email}")

    def totp_secret(self, email: str) -> str | None:
        with self._read() as conn:
            c = conn.execute(select(ACCOUNTS.c.totp_secret).where(
                ACCOUNTS.c.email == email.strip().lower())).scalar()
        return str(self._cipher.decrypt(c.encode())["totp"]) if c else None

    def use_totp_step(self, email: str, step: int) -> bool:
        """Spend time step `step`: False if it (or a later one) was used already, so a
        code seen over a shoulder does not work a second time."""
        e = email.strip().lower()
        with self._write() as conn:
            done = conn.execute(update(ACCOUNTS).where(
                ACCOUNTS.c.email == e,
                (ACCOUNTS.c.totp_last_step.is_(None)) | (ACCOUNTS.c.totp_last_step < step))
                .values(totp_last_step=step))
        return done.rowcount == 1

    def use_recovery_code(self, email: str, code: str) -> bool:
        """Spend a recovery code: True once per code."""
        e, h = email.strip().lower(), code_hash(code)
        with self._write() as conn:
            left = conn.execute(select(ACCOUNTS.c.recovery_codes).where(
                ACCOUNTS.c.email == e)).scalar() or []
            if h not in left:
                return False
            conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.email == e).values(
                recovery_codes=[c for c in left if c != h]))
        return True

    def recovery_codes_left(self, email: str) -> int:
        with self._read() as conn:
            return len(conn.execute(select(ACCOUNTS.c.recovery_codes).where(
                ACCOUNTS.c.email == email.strip().lower())).scalar() or [])

    def mfa_failed(self, email: str, lock_after: int, lock_for: timedelta) -> None:
        """One more wrong code; the `lock_after`th in a row stops codes for `lock_for`."""
        self._count_failure(email, "mfa_failed", "mfa_locked_until", lock_after, lock_for)

    def mfa_succeeded(self, email: str) -> None:
        with self._write() as conn:
            conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.email == email).values(
                mfa_failed=0, mfa_locked_until=None))

    # sessions -------------------------------------------------------------------
    def sessions_of(self, email: str) -> list[SessionRow]:
        with self._read() as conn:
            rows = conn.execute(select(SESSIONS).where(
                SESSIONS.c.email == email.strip().lower())
                .order_by(SESSIONS.c.last_seen.desc())).mappings().all()
        return [session_row(r) for r in rows]

    def end_sessions(self, email: str, session_id: str | None = None,
                     keep_hash: str | None = None) -> int:
        """End `email`'s session `session_id` (SessionRow.id), or all of them but the
        one whose cookie hash is `keep_hash`; how many ended."""
        query = delete(SESSIONS).where(SESSIONS.c.email == email.strip().lower())
        if session_id is not None:
            if len(session_id) != SESSION_ID_CHARS:
                raise InvalidInput("session", "not a session id")
            query = query.where(SESSIONS.c.token_hash.startswith(session_id, autoescape=True))
        if keep_hash is not None:
            query = query.where(SESSIONS.c.token_hash != keep_hash)
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def reauthenticated(self, token_hash: str) -> None:
        with self._write() as conn:
            conn.execute(update(SESSIONS).where(SESSIONS.c.token_hash == token_hash)
                         .values(reauth_at=self._clock()))

    # partner policy -------------------------------------------------------------
    def partner_requires_mfa(self, partner: str | None) -> bool:
        if not partner:
            return False
        with self._read() as conn:
            return bool(conn.execute(select(PARTNER_POLICIES.c.require_mfa).where(
                PARTNER_POLICIES.c.partner == partner)).scalar())

    def set_partner_policy(self, partner: str, require_mfa: bool) -> None:
        name = partner.strip()
        if not name:
            raise InvalidInput("partner", "name the partner organisation")
        with self._write() as conn:
            upsert(conn, PARTNER_POLICIES, [{"partner": name, "require_mfa": require_mfa}])

    def partner_policies(self) -> dict[str, bool]:
        with self._read() as conn:
            return {r[0]: bool(r[1]) for r in conn.execute(
                select(PARTNER_POLICIES.c.partner, PARTNER_POLICIES.c.require_mfa))}

