"""Portal accounts, their sessions and the audit log.

Passwords arrive here already hashed (argon2, in web/passwords.py) and session cookies
as their SHA-256: the store never holds anything a thief could sign in with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from mailflip.domain.names import Role
from mailflip.errors import InvalidInput
from mailflip.logs import mask

from .agents import token_hash
from .base import StoreBase
from .queries import ACCOUNTS, ALERT_ACKS, API_TOKENS, AUDIT, SESSIONS


@dataclass(frozen=True)
class AccountRow:
    email: str
    role: Role
    partner: str | None  # the partner organisation (partner accounts only)
    password_hash: str
    failed_logins: int
    locked_until: datetime | None
    mfa_enabled: bool = False
    mfa_locked_until: datetime | None = None

    def sees(self, partner: str) -> bool:
        """May this account see an order of `partner`?"""
        return self.role == Role.SUPPORT or self.partner == partner


@dataclass(frozen=True)
class SessionRow:
    email: str
    created_at: datetime
    last_seen: datetime
    reauth_at: datetime | None = None
    address: str | None = None
    user_agent: str | None = None
    id: str = ""  # the start of the cookie's hash: names the session in lists and forms


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    order_id: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class ApiTokenRow:
    id: str
    email: str
    name: str
    created_at: datetime
    last_used: datetime | None


@dataclass(frozen=True)
class AlertAck:
    by: str
    at: datetime
    note: str


TOKEN_PREFIX = "mf_"
# A session's (and an API token's) last use is written at most this often: a write per
# request would serialise every page on the database's write lock; the idle timeout is
# then exact to within this much
TOUCH_EVERY = timedelta(seconds=30)


SESSION_ID_CHARS = 12


def session_row(r: Any) -> SessionRow:
    return SessionRow(r["email"], r["created_at"], r["last_seen"], r["reauth_at"],
                      r["address"], r["user_agent"], r["token_hash"][:SESSION_ID_CHARS])


def normal_email(field: str, email: str) -> str:
    e = email.strip().lower()
    local, at, domain = e.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in e):
        raise InvalidInput(field, f"not an email address: {email!r}")
    return e


class AccountBook(StoreBase):
    # accounts ---------------------------------------------------------------
    def add_account(self, email: str, role: Role | str, partner: str | None,
                    password_hash: str) -> AccountRow:
        e = normal_email("email", email)
        try:
            r = Role(role)
        except ValueError:
            raise InvalidInput("role", f"must be partner or support, not {role!r}") from None
        if r == Role.PARTNER and not (partner or "").strip():
            raise InvalidInput("partner", "a partner account belongs to a partner "
                                          "organisation (--partner NAME)")
        if r == Role.SUPPORT and partner:
            raise InvalidInput("partner", "a support account sees every partner; "
                                          "give no --partner")
        with self._write() as conn:
            if conn.execute(select(ACCOUNTS.c.email).where(ACCOUNTS.c.email == e)).first():
                raise InvalidInput("email", f"an account {e} exists already")
            conn.execute(insert(ACCOUNTS).values(
                email=e, role=r.value, partner=partner.strip() if partner else None,
                password_hash=password_hash, created_at=self._clock(), failed_logins=0,
                locked_until=None))
        found = self.account(e)
        assert found is not None
        return found

    def account(self, email: str) -> AccountRow | None:
        with self._read() as conn:
            r = conn.execute(select(ACCOUNTS).where(
                ACCOUNTS.c.email == email.strip().lower())).mappings().first()
        if r is None:
            return None
        return AccountRow(r["email"], Role(r["role"]), r["partner"], r["password_hash"],
                          r["failed_logins"], r["locked_until"], r["totp_secret"] is not None,
                          r["mfa_locked_until"])

    def accounts(self) -> list[AccountRow]:
        with self._read() as conn:
            emails = [r[0] for r in conn.execute(select(ACCOUNTS.c.email)
                                                 .order_by(ACCOUNTS.c.email))]
        return [a for e in emails if (a := self.account(e)) is not None]

    def set_password(self, email: str, password_hash: str) -> None:
        """A new password: the account's sessions end and any lock-out is lifted."""
        e = email.strip().lower()
        with self._write() as conn:
            done = conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.email == e).values(
                password_hash=password_hash, failed_logins=0, locked_until=None))
            if done.rowcount == 0:
                raise InvalidInput("email", f"no account {e}")
            conn.execute(delete(SESSIONS).where(SESSIONS.c.email == e))

    def login_failed(self, email: str, lock_after: int, lock_for: timedelta) -> None:
        """One more failed password; the `lock_after`th in a row locks the account for
        `lock_for` (and counting starts again)."""
        self._count_failure(email, "failed_logins", "locked_until", lock_after, lock_for)

    def _count_failure(self, email: str, counter: str, lock: str, lock_after: int,
                       lock_for: timedelta) -> None:
        e = email.strip().lower()
        with self._write() as conn:
            r = conn.execute(select(ACCOUNTS.c[counter]).where(ACCOUNTS.c.email == e)).first()
            if r is None:
                return
            failed = (r[0] or 0) + 1
            values: dict[str, Any] = {counter: failed}
            if failed >= lock_after:
                values = {counter: 0, lock: self._clock() + lock_for}
            conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.email == e).values(**values))

    def login_succeeded(self, email: str) -> None:
        with self._write() as conn:
            conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.email == email).values(
                failed_logins=0, locked_until=None))

    # sessions ---------------------------------------------------------------
    def open_session(self, token_hash: str, email: str, address: str | None = None,
                     user_agent: str | None = None) -> None:
        """A new session (signing in is its first authentication: `reauth_at`)."""
        now = self._clock()
        with self._write() as conn:
            conn.execute(insert(SESSIONS).values(
                token_hash=token_hash, email=email, created_at=now, last_seen=now,
                reauth_at=now, address=(address or "")[:64] or None,
                user_agent=(user_agent or "")[:300] or None))

    def session(self, token_hash: str, idle: timedelta, lifetime: timedelta,
                touch: bool = True) -> SessionRow | None:
        """The live session with this cookie hash, its last use moved to now (unless
        `touch` is False: a page's live stream is not the person using it); None (and
        the session ended) once idle for `idle` or older than `lifetime`."""
        now = self._clock()
        key = SESSIONS.c.token_hash == token_hash
        with self._write() as conn:
            r = conn.execute(select(SESSIONS).where(key)).mappings().first()
            if r is None:
                return None
            if now - r["last_seen"] > idle or now - r["created_at"] > lifetime:
                conn.execute(delete(SESSIONS).where(key))
                return None
            if not touch or now - r["last_seen"] < TOUCH_EVERY:
                return session_row(r)
            conn.execute(update(SESSIONS).where(key).values(last_seen=now))
        return session_row({**r, "last_seen": now})

    def close_session(self, token_hash: str) -> None:
        with self._write() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == token_hash))

    def session_count(self, email: str) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(SESSIONS)
                                    .where(SESSIONS.c.email == email)).scalar_one())

    # audit ------------------------------------------------------------------
    def audit(self, actor: str, action: str, order_id: str | None = None,
              before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
              ) -> None:
        with self._write() as conn:
            conn.execute(insert(AUDIT).values(at=self._clock(), actor=actor,
                                              order_id=order_id, action=action,
                                              before=before, after=after))

    def audit_log(self, order_id: str | None = None, limit: int = 200) -> list[AuditRow]:
        """Newest first; one order's entries when `order_id` is given."""
        q = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
        if order_id is not None:
            q = q.where(AUDIT.c.order_id == order_id)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        return [AuditRow(r["id"], r["at"], r["actor"], r["order_id"], r["action"],
                         r["before"], r["after"]) for r in rows]

    # API tokens -------------------------------------------------------------
    def new_api_token(self, email: str, name: str) -> tuple[ApiTokenRow, str]:
        """A new token for `email`'s account: (its row, the token). The token exists
        only in this return value; the store keeps its SHA-256."""
        label = name.strip()
        if not label or len(label) > 200:
            raise InvalidInput("name", "give the token a name of 1 to 200 characters "
                                       "(what will use it)")
        if self.account(email) is None:
            raise InvalidInput("email", f"no account {email}")
        tid = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{tid}_{secrets.token_urlsafe(32)}"
        mask(token)
        with self._write() as conn:
            conn.execute(insert(API_TOKENS).values(
                id=tid, token_hash=token_hash(token), email=email.strip().lower(),
                name=label, created_at=self._clock(), last_used=None))
        return ApiTokenRow(tid, email.strip().lower(), label, self._clock(), None), token

    def api_tokens(self, email: str) -> list[ApiTokenRow]:
        with self._read() as conn:
            rows = conn.execute(select(API_TOKENS).where(
                API_TOKENS.c.email == email.strip().lower()).order_by(
                API_TOKENS.c.created_at)).mappings().all()
        return [ApiTokenRow(r["id"], r["email"], r["name"], r["created_at"], r["last_used"])
                for r in rows]

    def api_token_account(self, token: str) -> AccountRow | None:
        """The account whose token this is (its last use moved to now), or None."""
        key = API_TOKENS.c.token_hash == token_hash(token)
        now = self._clock()
        with self._read() as conn:
            r = conn.execute(select(API_TOKENS.c.email, API_TOKENS.c.last_used)
                             .where(key)).first()
        if r is None:
            return None
        if r[1] is None or now - r[1] >= TOUCH_EVERY:
            with self._write() as conn:
                conn.execute(update(API_TOKENS).where(key).values(last_used=now))
        return self.account(r[0])

    def revoke_api_token(self, email: str, token_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(delete(API_TOKENS).where(
                API_TOKENS.c.id == token_id, API_TOKENS.c.email == email.strip().lower()))
        if done.rowcount == 0:
            raise InvalidInput("token_id", f"no token {token_id} of yours")

    # alert acknowledgements --------------------------------------------------
    def ack_alert(self, order_id: str, idx: int, by: str, note: str) -> None:
        if not any(a.idx == idx for a in self.alerts(order_id)):  # type: ignore[attr-defined]
            raise InvalidInput("alert", f"order {order_id} has no alert {idx}")
        with self._write() as conn:
            conn.execute(delete(ALERT_ACKS).where(ALERT_ACKS.c.order_id == order_id,
                                                  ALERT_ACKS.c.idx == idx))
            conn.execute(insert(ALERT_ACKS).values(order_id=order_id, idx=idx, by=by,
                                                   at=self._clock(), note=note.strip()))

    def alert_acks(self, order_id: str | None = None) -> dict[tuple[str, int], AlertAck]:
        q = select(ALERT_ACKS)
        if order_id is not None:
            q = q.where(ALERT_ACKS.c.order_id == order_id)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        return {(r["order_id"], r["idx"]): AlertAck(r["by"], r["at"], r["note"]) for r in rows}
