"""Who is asking: sessions (the portal's cookie), API tokens (automation's bearer token),
CSRF tokens, and which orders an account may see. Shared by the pages and the API.

A partner account sees only its partner organisation's orders: another partner's order
is "not found", the same answer as an order that does not exist, so ids tell nothing."""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request

from mailflip.domain.names import Role
from mailflip.errors import InvalidInput
from mailflip.store.accounts import AccountRow
from mailflip.store.agents import token_hash
from mailflip.store.repositories import SqlStore

COOKIE, LOGIN_CSRF, CSRF_HEADER = "mf_session", "mf_login_csrf", "x-csrf-token"
IDLE, LIFETIME = timedelta(minutes=30), timedelta(hours=12)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def client_address(request: Request) -> str:
    """The address failures are counted against (the sign-in and end-user limits)."""
    return request.client.host if request.client else "unknown"


class Gate:
    def __init__(self, store: SqlStore, secret_key: str, idle: timedelta = IDLE,
                 lifetime: timedelta = LIFETIME) -> None:
        """`idle`, `lifetime`: a session ends after this long unused, or this long after
        sign-in whatever happens (MAILFLIP_SESSION_IDLE_MINUTES, ..._LIFETIME_HOURS)."""
        self.store = store
        self._key = secret_key.encode()
        self.idle, self.lifetime = idle, lifetime

    def csrf_for(self, session_token: str) -> str:
        return hmac.new(self._key, b"csrf:" + session_token.encode(), "sha256").hexdigest()[:40]

    def account_of(self, request: Request, touch: bool = True) -> AccountRow | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = self.store.session(token_hash(token), self.idle, self.lifetime, touch)
        return self.store.account(session.email) if session is not None else None

    def mfa_required(self, account: AccountRow) -> bool:
        """Support accounts, and those of a partner whose policy says so, sign in with a
        second factor."""
        return account.role == Role.SUPPORT or self.store.partner_requires_mfa(account.partner)

    def signed_in(self, request: Request, setting_up: bool = False) -> AccountRow:
        """The page's account, or off to the sign-in page; an account that must use MFA
        and has none goes to set it up first (`setting_up`: the pages that do that)."""
        account = self.account_of(request)
        if account is None:
            raise HTTPException(303, headers={"Location": "/login"})
        if not setting_up and not account.mfa_enabled and self.mfa_required(account):
            raise HTTPException(303, headers={"Location": "/account/security"})
        return account

    def check_csrf(self, request: Request, given: str) -> None:
        token = request.cookies.get(COOKIE, "")
        if not token or not hmac.compare_digest(self.csrf_for(token), given):
            raise HTTPException(403, "the form is stale or not from this site: reload it")

    def api_account(self, request: Request) -> AccountRow:
        """An API call's account: a bearer token (`Authorization: Bearer mf_...`), or
        the portal's session cookie, which must then carry the page's CSRF token in
        the X-CSRF-Token header on anything that changes something."""
        auth = request.headers.get("authorization", "")
        if auth:
            scheme, _, token = auth.partition(" ")
            account = self.store.api_token_account(token.strip()) \
                if scheme.lower() == "bearer" and token.strip() else None
            if account is None:
                raise HTTPException(401, "the API token is unknown or revoked")
            return account
        account = self.account_of(request)
        if account is None:
            raise HTTPException(401, "sign in first, or send an API token "
                                     "(Authorization: Bearer ...)")
        if not account.mfa_enabled and self.mfa_required(account):
            raise HTTPException(403, "set up multi-factor sign-in first (/account/security)")
        if request.method not in SAFE_METHODS:
            self.check_csrf(request, request.headers.get(CSRF_HEADER, ""))
        return account

    def visible_order(self, account: AccountRow, order_id: str) -> Any:
        try:
            order = self.store.get_order(order_id)
        except InvalidInput:
            order = None
        if order is None or not account.sees(order.partner):
            raise HTTPException(404, f"no order {order_id}")
        return order


class AddressLimiter:
    """Failed sign-ins per client address over a sliding window: past the limit the
    address is refused (429) until its oldest failure leaves the window. In memory: one
    web process; the per-account lock-out is in the store."""

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._fails: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        q = self._fails.setdefault(address, deque())
        while q and q[0] <= self.clock() - self.window_s:
            q.popleft()
        return q

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())
