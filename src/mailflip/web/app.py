"""The portal: partner and support accounts sign in, see their orders and watch one move.

Reads the store the workflows mirror to (never workflow history). A partner account sees
only its partner organisation's orders: another partner's order is "not found", the same
answer as an order that does not exist, so ids tell nothing. Sessions are server-side
(the cookie is a random token, stored as its SHA-256), forms carry a CSRF token, failed
sign-ins lock the account for a while and slow the address down, and every page carries
a CSP without inline script and denies framing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailflip.domain.names import STATUS_ORDER, Role, Status
from mailflip.domain.rules import Timings, in_lock_window
from mailflip.errors import InvalidInput
from mailflip.notify.context import advice_records, mx_records
from mailflip.simulate.table import describe
from mailflip.store.accounts import AccountRow
from mailflip.store.repositories import SqlStore

from .passwords import verify_password

HERE = Path(__file__).parent
COOKIE, LOGIN_CSRF = "mf_session", "mf_login_csrf"
IDLE, LIFETIME = timedelta(minutes=30), timedelta(hours=12)
LOCK_AFTER, LOCK_FOR = 5, timedelta(minutes=15)  # failed passwords in a row, then locked
ADDRESS_FAILURES, ADDRESS_WINDOW_S = 20, 300.0  # per client address, then 429
LIVE_EVERY_S = 1.0  # how often an open order page's stream looks for a change
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cross-Origin-Opener-Policy": "same-origin"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def portal_app(store: SqlStore, secret_key: str, *, secure_cookies: bool = True,
               temporal_ui: str = "", clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The portal over `store`. `secret_key` signs the CSRF tokens; `secure_cookies`
    False only for plain-http local use (`mailflip up` on 127.0.0.1)."""
    now = clock or (lambda: datetime.now(UTC))
    # the schema at /openapi.json; no /docs page: FastAPI's loads its script from a CDN
    app = FastAPI(title="mailflip", docs_url=None, redoc_url=None)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]))
    env.filters["local"] = _local
    env.filters["utc"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"
    env.filters["size"] = _size
    env.filters["describe"] = describe
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    limiter = AddressLimiter(ADDRESS_FAILURES, ADDRESS_WINDOW_S)
    key = secret_key.encode()

    def csrf_for(session_token: str) -> str:
        return hmac.new(key, b"csrf:" + session_token.encode(), "sha256").hexdigest()[:40]

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def account_of(request: Request, touch: bool = True) -> AccountRow | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = store.session(_hash(token), IDLE, LIFETIME, touch)
        return store.account(session.email) if session is not None else None

    def signed_in(request: Request) -> AccountRow:
        account = account_of(request)
        if account is None:
            raise HTTPException(303, headers={"Location": "/login"})
        return account

    def check_csrf(request: Request, given: str) -> None:
        token = request.cookies.get(COOKIE, "")
        if not token or not hmac.compare_digest(csrf_for(token), given):
            raise HTTPException(403, "the form is stale or not from this site: reload it")

    def page(request: Request, name: str, account: AccountRow | None, code: int = 200,
             **ctx: Any) -> HTMLResponse:
        token = request.cookies.get(COOKIE, "")
        return templates.TemplateResponse(request, name, {
            "account": account, "csrf": csrf_for(token) if account else "", **ctx},
            status_code=code)

    def visible_order(account: AccountRow, order_id: str) -> Any:
        try:
            order = store.get_order(order_id)
        except InvalidInput:
            order = None
        if order is None or not account.sees(order.partner):
            raise HTTPException(404, f"no order {order_id}")
        return order

    # sign in / out -------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(24)
        response = page(request, "login.html", None, csrf_login=nonce, error="", email="")
        response.set_cookie(LOGIN_CSRF, nonce, httponly=True, samesite="strict",
                            secure=secure_cookies, max_age=3600)
        return response

    @app.post("/login", response_model=None)
    async def login(request: Request, email: str = Form(""), password: str = Form(""),
                    csrf: str = Form("")) -> Response:
        nonce = request.cookies.get(LOGIN_CSRF, "")
        if not nonce or not hmac.compare_digest(nonce, csrf):
            raise HTTPException(403, "the form is stale or not from this site: reload it")
        address = request.client.host if request.client else "unknown"

        def refuse(why: str, status: int = 401) -> HTMLResponse:
            return page(request, "login.html", None, status, csrf_login=nonce, error=why,
                        email=email)

        if limiter.blocked(address):
            return refuse("Too many failed sign-ins from here: try again in a few minutes.",
                          429)
        account = store.account(email) if email.strip() else None
        ok = verify_password(account.password_hash if account else None, password)
        if account is not None and account.locked_until and account.locked_until > now():
            return refuse("This account is locked after repeated failed sign-ins: try "
                          "again later, or ask support to reset the password.", 423)
        if account is None or not ok:
            limiter.failed(address)
            if account is not None:
                store.login_failed(account.email, LOCK_AFTER, LOCK_FOR)
            return refuse("Wrong email or password.")
        store.login_succeeded(account.email)
        token = secrets.token_urlsafe(32)  # a new session id at every sign-in
        store.open_session(_hash(token), account.email)
        store.audit(account.email, "sign_in")
        response = RedirectResponse("/orders", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=secure_cookies)
        response.delete_cookie(LOGIN_CSRF)
        return response

    @app.post("/logout")
    async def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        check_csrf(request, csrf)
        token = request.cookies.get(COOKIE, "")
        account = account_of(request)
        store.close_session(_hash(token))
        if account is not None:
            store.audit(account.email, "sign_out")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # pages ---------------------------------------------------------------------
    @app.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/orders", status_code=303)

    @app.get("/orders", response_class=HTMLResponse)
    async def orders_page(request: Request, status: str = "") -> HTMLResponse:
        account = signed_in(request)
        rows = _orders_for(store, account, status)
        badges = {o.order_id: _badges(store, o.order_id) for o in rows}
        return page(request, "orders.html", account, orders=rows, badges=badges,
                    statuses=[s.value for s in STATUS_ORDER], status=status, now=now())

    @app.get("/orders/{order_id}", response_class=HTMLResponse)
    async def order_page(request: Request, order_id: str) -> HTMLResponse:
        account = signed_in(request)
        visible_order(account, order_id)
        return page(request, "order.html", account, d=_detail(store, order_id, now()),
                    temporal_ui=temporal_ui if account.role == Role.SUPPORT else "")

    @app.get("/orders/{order_id}/live", response_class=HTMLResponse)
    async def order_live(request: Request, order_id: str) -> HTMLResponse:
        account = signed_in(request)
        visible_order(account, order_id)
        return page(request, "_live.html", account, d=_detail(store, order_id, now()))

    @app.get("/orders/{order_id}/events")
    async def order_events(request: Request, order_id: str) -> StreamingResponse:
        """Server-sent events: the order's live part, rendered, each time it changes."""
        account = signed_in(request)
        visible_order(account, order_id)
        fragment = env.get_template("_live.html")

        async def stream() -> AsyncIterator[bytes]:
            last = ""
            while not await request.is_disconnected():
                # signed out or expired meanwhile; an open page alone keeps no session alive
                if account_of(request, touch=False) is None:
                    yield b"event: ended\ndata: signed out\n\n"
                    return
                d = _detail(store, order_id, now())
                html = fragment.render(d=d, account=account, csrf="")
                if html != last:
                    last = html
                    data = "".join(f"data: {line}\n" for line in html.splitlines())
                    yield f"event: order\n{data}\n".encode()
                await asyncio.sleep(LIVE_EVERY_S)  # the next look at the store

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    # JSON ----------------------------------------------------------------------
    @app.get("/api/orders")
    async def api_orders(request: Request, status: str = "") -> JSONResponse:
        account = account_of(request)
        if account is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        from mailflip.stack.views import order_summary

        return JSONResponse([order_summary(o) for o in _orders_for(store, account, status)])

    @app.get("/api/orders/{order_id}")
    async def api_order(request: Request, order_id: str) -> JSONResponse:
        account = account_of(request)
        if account is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        order = visible_order(account, order_id)
        from mailflip.stack.views import order_detail

        return JSONResponse(order_detail(store, order_id, order))

    @app.exception_handler(InvalidInput)
    async def bad_input(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"field": exc.field, "error": exc.message}, status_code=422)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _orders_for(store: SqlStore, account: AccountRow, status: str) -> list[Any]:
    if status and status not in {s.value for s in Status}:
        raise InvalidInput("status", f"unknown status {status!r}")
    partner = None if account.role == Role.SUPPORT else account.partner
    return store.list_orders(limit=200, status=status or None, partner=partner)


def _badges(store: SqlStore, order_id: str) -> dict[str, int]:
    tasks = [t for t in store.tasks(order_id) if t.state == "open"]
    return {"tasks": len(tasks), "alerts": len(store.alerts(order_id))}


def _detail(store: SqlStore, order_id: str, at: datetime) -> dict[str, Any]:
    from mailflip.stack.views import order_detail

    o = store.get_order(order_id)
    d = order_detail(store, order_id, o)
    d["cutover_at"] = o.cutover
    d["status_number"] = o.status.number
    d["statuses"] = [s.value for s in STATUS_ORDER]
    d["countdown"] = _countdown(o.cutover - at)
    # what the partner publishes: MX (gates Updating MX Record) and the advice records;
    # the TXT verification value is in the partner's email (the tenant gives it)
    d["dns"] = [{"domain": dom.name, "verified": dom.verified, "mx_ok": dom.mx_ok,
                 "records": mx_records([dom.name]) + advice_records([dom.name])}
                for dom in store.domains(order_id)]
    # C-4h: the lock banner (R-LOCK-4H); the Updates refuse the partner's changes
    d["locked"] = bool(o.placed_at) and not o.completed and not o.cancelled and \
        in_lock_window(o.cutover, at, Timings())
    return d


def _countdown(left: timedelta) -> str:
    if left.total_seconds() <= 0:
        return "cutover passed"
    days, rest = divmod(int(left.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    return f"in {days} d {hours} h" if days else f"in {hours} h {rest // 60} min"


def _local(at: datetime | str, zone: str) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}"
        n = n / 1000  # type: ignore[assignment]
    return f"{n:.1f} TB"
