"""End users' own pages, opened by the personal link in their gather-info email
(`/u/TOKEN`, notify/links.py): they confirm their details and give their source
password, which is checked against the source server (a login by the sync engine's IMAP
client) before it is stored, encrypted, and the order told (the `users_ready` Update);
then the same link shows their migration: the date in their time zone, what happens when,
their desktop agent's state, its enrolment code and how to install it.

The link opens this one user's page and nothing else; it stops working when the order
completes (its tokens are purged). Nothing typed here is ever shown back or logged.
Wrong passwords are limited per link and per address, like sign-ins."""

from __future__ import annotations

import asyncio
import hmac
import imaplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mailflip.mail.order_endpoints import check_source_password, user_kind
from mailflip.notify.links import Links
from mailflip.store.agents import AGENT, GATHER
from mailflip.store.repositories import SqlStore

from .actions import OrderActions
from .gate import AddressLimiter, client_address

PROBE_TIMEOUT_S = 10.0
PASSWORD_FAILURES, PASSWORD_WINDOW_S = 5, 900.0  # wrong passwords per link, then 429


@dataclass
class EndUser:
    """What the end-user pages need beyond the store: the links' secret (the agent's
    enrolment code is derived, never stored) and the time."""

    links: Links
    secret_key: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def csrf(self, token: str) -> str:
        return hmac.new(self.secret_key.encode(), b"enduser:" + token.encode(),
                        "sha256").hexdigest()[:40]

    async def check_password(self, store: SqlStore, order_id: str, source: str,
                             password: str) -> str | None:
        return await asyncio.to_thread(check_source_password, store, order_id, source,
                                       password)

    async def probe(self, host: str, port: int | None, security: str) -> str:
        """Connect to an IMAP server as the wizard's test: its greeting, or why not."""
        if not host:
            return "Give the source host first."
        return await asyncio.to_thread(_probe, host, port, security)


def _probe(host: str, port: int | None, security: str) -> str:
    try:
        if security == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, port or 993, ssl_context=ssl.create_default_context(),
                timeout=PROBE_TIMEOUT_S)
        else:
            imap = imaplib.IMAP4(host, port or 143, timeout=PROBE_TIMEOUT_S)
            if security == "starttls":
                imap.starttls(ssl.create_default_context())
    except ssl.SSLCertVerificationError as exc:
        return f"{host} answered, but its TLS certificate is not trusted: {exc.verify_message}"
    except (OSError, imaplib.IMAP4.error) as exc:
        return f"Could not connect to {host}:{port or ''}: {exc}"
    greeting = imap.welcome.decode(errors="replace")
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        pass
    return f"Connected to {host}: the server says {greeting!r}"


def enduser_routes(app: FastAPI, store: SqlStore, page: Callable[..., HTMLResponse],
                   enduser: EndUser | None, actions: OrderActions | None,
                   limiter: AddressLimiter) -> None:
    """`limiter`: failures per client address (shared with the sign-in page)."""
    per_link = AddressLimiter(PASSWORD_FAILURES, PASSWORD_WINDOW_S)

    def owner(token: str) -> tuple[str, str]:
        found = store.token_owner(GATHER, token)
        if found is None or enduser is None:
            raise HTTPException(404, "This link is not valid (any more). If your "
                                     "migration is still to come, ask your IT contact.")
        return found

    def view(request: Request, token: str, code: int = 200, error: str = "",
             done: bool = False) -> HTMLResponse:
        order_id, address = owner(token)
        assert enduser is not None
        o = store.get_order(order_id)
        box = store.mailbox(order_id, address)
        agent = next((a for a in store.agents(order_id) if a.address == address), None)
        ctx: dict[str, Any] = {
            "token": token, "form_csrf": enduser.csrf(token), "error": error, "done": done,
            "o": o, "box": box, "answered": bool(box and box.answered),
            "agent": agent, "agent_code": enduser.links.token(AGENT, order_id, address),
            "agents_url": enduser.links.agents_url, "now": enduser.clock()}
        return page(request, "enduser.html", None, code, **ctx)

    @app.get("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def enduser_page(request: Request, token: str, done: str = "") -> HTMLResponse:
        return view(request, token, done=bool(done))

    @app.post("/u/{token}", response_class=HTMLResponse, response_model=None,
              include_in_schema=False)
    async def enduser_password(request: Request, token: str, csrf: str = Form(""),
                               password: str = Form("")) -> HTMLResponse | RedirectResponse:
        order_id, address = owner(token)
        assert enduser is not None
        if not hmac.compare_digest(enduser.csrf(token), csrf):
            raise HTTPException(403, "the form is stale or not from this site: reload it")
        client = client_address(request)
        if limiter.blocked(client) or per_link.blocked(token):
            return view(request, token, 429, "Too many wrong passwords: wait a few minutes, "
                                             "then try again.")
        if not password:
            return view(request, token, 422, "Type your current email password.")
        box = store.mailbox(order_id, address)
        if box is None or box.removed:
            raise HTTPException(404, "This mailbox is no longer part of the migration.")
        why = await enduser.check_password(store, order_id, box.source, password)
        if why is not None:
            limiter.failed(client)
            per_link.failed(token)
            store.audit(f"end user {address}", "source_password_refused", order_id)
            return view(request, token, 422, why[0].upper() + why[1:] + ".")
        store.save_credentials(order_id, user_kind(box.source), {"password": password})
        if actions is None:
            raise HTTPException(503, "saved; the order will be told when the service is "
                                     "back: no need to type it again")
        refusal = await actions.users_ready(f"end user {address}", order_id, address)
        if refusal is not None:
            return view(request, token, 409, f"Your password is saved, but: {refusal}")
        return RedirectResponse(f"/u/{token}?done=1", status_code=303)
