"""The portal: partner and support accounts sign in, create and follow orders and act on
them; end users give their source password on their own page; the REST API (web/api.py)
serves the same actions to automation.

Reads the store the workflows mirror to (never workflow history) and acts through the
order workflow's Updates (web/actions.py). Sessions are server-side (the cookie is a
random token, stored as its SHA-256), every form carries a CSRF token, failed sign-ins
lock the account for a while and slow the address down, and every page carries a CSP
without inline script and denies framing (web/gate.py: who may see what)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, HTTPException, Request, Response, UploadFile
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.converter import PayloadCodec

from mailflip.domain.names import STATUS_ORDER, Ctp, Role
from mailflip.domain.rules import Timings, in_lock_window
from mailflip.errors import InvalidInput
from mailflip.notify.context import advice_records, mx_records
from mailflip.simulate.table import describe
from mailflip.store.accounts import AccountRow
from mailflip.store.agents import token_hash
from mailflip.store.repositories import SqlStore
from mailflip.store.rows import OrderRow

from .actions import ACTIONS, PASSES, OrderActions
from .api import (
    REPORT_FILES,
    acknowledge,
    alert_queue,
    api_routes,
    audit_rows,
    create_token,
    need_actions,
    notification_rows,
    report_file,
    revoke_token,
)
from .codec import codec_routes
from .enduser import EndUser, enduser_routes
from .gate import COOKIE, IDLE, LIFETIME, LOGIN_CSRF, AddressLimiter, Gate, client_address
from .live import LiveHub
from .passwords import verify_password
from .security import security_routes
from .wizard import (
    FIELDS,
    SECURITIES,
    SOURCE_KINDS,
    csv_lines,
    form_field,
    local_cutover,
    order_from_form,
)

HERE = Path(__file__).parent
# the wizard's tenant check: (credentials, the order) -> tenant.preflight.Report
Preflight = Callable[[Any, Any], Awaitable[Any]]
TENANT_FIELDS = ("tenant_id", "client_id", "client_secret")
LOCK_AFTER, LOCK_FOR = 5, timedelta(minutes=15)  # failed passwords in a row, then locked
ADDRESS_FAILURES, ADDRESS_WINDOW_S = 20, 300.0  # per client address, then 429
LIVE_EVERY_S = 0.2  # how often the store is asked whether a watched order changed
SESSION_EVERY_S = 5.0  # how often an open order page's stream checks its session
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cross-Origin-Opener-Policy": "same-origin"}
DONE = {"place": "Order placed: its background tasks are starting.",
        "cutover": "Cutover changed.", "cancel": "Order cancelled.",
        "add_user": "User added.", "remove_user": "User removed.",
        "settings": "Settings saved.", "release_hold": "Hold released.",
        "rerun_ctp": "Background task rerun.", "rerun_sync": "Sync pass rerun.",
        "resolve_task": "Task resolved.", "credentials": "Credentials stored (encrypted).",
        "import": "Users imported.", "created": "Order saved.", "ack": "Alert acknowledged."}


def portal_app(store: SqlStore, secret_key: str, *, secure_cookies: bool = True,
               temporal_ui: str = "", clock: Callable[[], datetime] | None = None,
               actions: OrderActions | None = None, enduser: EndUser | None = None,
               time_scale: float = 1.0, preflight: Preflight | None = None,
               payload_codec: PayloadCodec | None = None,
               sessions: tuple[timedelta, timedelta] = (IDLE, LIFETIME)) -> FastAPI:
    """The portal over `store`. `secret_key` signs the CSRF tokens; `secure_cookies`
    False only for plain-http local use (`mailflip up` on 127.0.0.1). Without `actions`
    (no Temporal cluster) the pages only read; without `enduser` the end-user pages say
    they are not served here. `time_scale` as MAILFLIP_TIME_SCALE (the lock window).
    `preflight`: the tenant pre-flight the wizard runs (`mailflip tenant check`'s).
    `payload_codec`: served at /codec for `temporal_ui` (support only, web/codec.py).
    `sessions`: (idle timeout, absolute lifetime) of a sign-in."""
    now = clock or (lambda: datetime.now(UTC))
    timings = Timings().scaled(time_scale)
    # the schema at /openapi.json; /docs is Swagger UI served from static/vendor (the
    # npm package swagger-ui-dist, installed by the Makefile: FastAPI's own loads a CDN)
    from . import api as api_module

    app = FastAPI(title="mailflip API", version="1", docs_url=None, redoc_url=None,
                  description=api_module.__doc__)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]))
    env.filters["local"] = _local
    env.filters["utc"] = lambda at: at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"
    env.filters["size"] = _size
    env.filters["describe"] = describe
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    limiter = AddressLimiter(ADDRESS_FAILURES, ADDRESS_WINDOW_S)
    gate = Gate(store, secret_key, *sessions)
    if payload_codec is not None:
        codec_routes(app, gate, payload_codec, temporal_ui)

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def page(request: Request, name: str, account: AccountRow | None, code: int = 200,
             **ctx: Any) -> HTMLResponse:
        token = request.cookies.get(COOKIE, "")
        return templates.TemplateResponse(request, name, {
            "account": account, "csrf": gate.csrf_for(token) if account else "", **ctx},
            status_code=code)

    begin_session = security_routes(app, store, gate, page, limiter, now, secure_cookies,
                                    secret_key, (LOCK_AFTER, LOCK_FOR))

    # errors --------------------------------------------------------------------
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/healthz"

    @app.exception_handler(InvalidInput)
    async def bad_input(request: Request, exc: InvalidInput) -> Response:
        if wants_json(request):
            return JSONResponse({"field": exc.field, "error": exc.message}, status_code=422)
        return page(request, "error.html", gate.account_of(request, touch=False), 422,
                    message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        return JSONResponse({"field": ".".join(loc) or "body", "error": first["msg"]},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code < 400:
            return await http_exception_handler(request, exc)
        if wants_json(request):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        return page(request, "error.html", gate.account_of(request, touch=False),
                    exc.status_code, message=exc.detail)

    # sign in / out -------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "") -> HTMLResponse:
        nonce = secrets.token_urlsafe(24)
        response = page(request, "login.html", None, csrf_login=nonce, error="", email="",
                        next=_local_path(next))
        response.set_cookie(LOGIN_CSRF, nonce, httponly=True, samesite="strict",
                            secure=secure_cookies, max_age=3600)
        return response

    @app.post("/login", response_model=None)
    async def login(request: Request, email: str = Form(""), password: str = Form(""),
                    csrf: str = Form(""), next: str = Form("")) -> Response:
        nonce = request.cookies.get(LOGIN_CSRF, "")
        if not nonce or not hmac.compare_digest(nonce, csrf):
            raise HTTPException(403, "the form is stale or not from this site: reload it")
        address = client_address(request)

        def refuse(why: str, status: int = 401) -> HTMLResponse:
            return page(request, "login.html", None, status, csrf_login=nonce, error=why,
                        email=email, next=_local_path(next))

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
        return begin_session(request, account, _local_path(next))

    @app.post("/logout")
    async def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
        gate.check_csrf(request, csrf)
        token = request.cookies.get(COOKIE, "")
        account = gate.account_of(request)
        store.close_session(token_hash(token))
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
        account = gate.signed_in(request)
        rows = _orders_for(store, account, status)
        badges = _badges(store, rows)
        return page(request, "orders.html", account, orders=rows, badges=badges,
                    statuses=[s.value for s in STATUS_ORDER], status=status, now=now(),
                    countdown=lambda at: _countdown(at - now()),
                    can_create=actions is not None)

    def wizard(request: Request, account: AccountRow, values: dict[str, str],
               errors: dict[str, str], lines: list[dict[str, Any]], code: int = 200,
               note: str = "", report: Any = None) -> HTMLResponse:
        shown = {k: v for k, v in values.items() if k != "client_secret"}  # never echoed
        return page(request, "wizard.html", account, code, v=shown | {"client_secret": ""},
                    errors=errors, lines=lines, note=note, kinds=SOURCE_KINDS,
                    securities=SECURITIES, report=report, can_check=preflight is not None,
                    partners=sorted({o.partner for o in store.list_orders(limit=500)})
                    if account.role == Role.SUPPORT else [])  # support picks the partner

    @app.get("/orders/new", response_class=HTMLResponse)
    async def new_order(request: Request) -> HTMLResponse:
        account = gate.signed_in(request)
        need_actions(actions)
        return wizard(request, account, {k: "" for k in (*FIELDS, *TENANT_FIELDS)} | {
            "source_kind": "imap", "source_security": "tls", "time_zone": "UTC",
            "partner": account.partner or ""}, {}, [])

    @app.post("/orders/new", response_class=HTMLResponse, response_model=None)
    async def create_order(request: Request) -> Response:
        account = gate.signed_in(request)
        form = await request.form()
        gate.check_csrf(request, str(form.get("csrf", "")))
        values = {k: str(form.get(k, "") or "") for k in (*FIELDS, *TENANT_FIELDS, "partner")}
        upload = form.get("users_file")
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read()
            values["users_csv"] = raw.decode("utf-8", errors="replace")
        partner = account.partner if account.role == Role.PARTNER else values["partner"]
        order, errors, rows = order_from_form(values, partner or "")
        spec = None
        try:
            spec = need_actions(actions).check_create(account, order)
        except InvalidInput as exc:
            errors.setdefault(form_field(exc.field), exc.message)
        lines = csv_lines(values["users_csv"], rows)
        intent = str(form.get("intent", "check"))
        tenant = {k: values[k].strip() for k in TENANT_FIELDS if values[k].strip()}
        if intent == "test_source":
            note = await _probe_source(values, enduser)
            return wizard(request, account, values, errors, lines, 200, note)
        if intent == "check_tenant":
            if spec is None or preflight is None or not {"client_id", "client_secret"} <= \
                    tenant.keys():
                why = "Give the app's client id and secret (and fix the fields marked) " \
                    "to check the tenant." if preflight is not None else \
                    "The tenant check is not available on this server."
                return wizard(request, account, values, errors, lines, 422, why)
            from mailflip.tenant.auth import TenantCredentials

            report = await preflight(TenantCredentials(
                tenant.get("tenant_id") or spec.initial_domain, tenant["client_id"],
                tenant["client_secret"]), spec)
            note = "The tenant is ready: GO." if report.go else \
                "The tenant is not ready: fix the no-go lines first (NO-GO)."
            return wizard(request, account, values, errors, lines, 200, note, report)
        if errors:
            return wizard(request, account, values, errors, lines, 422)
        if intent == "check":
            return wizard(request, account, values, {}, lines, 200,
                          "Everything checks out: save the order, or place it.")
        order_id = await need_actions(actions).create(account, order)
        if {"client_id", "client_secret"} <= tenant.keys():  # stored encrypted, write-only
            await need_actions(actions).credentials(account, order_id, "tenant", {
                "tenant_id": spec.initial_domain if spec else ""} | tenant)
        done = "created"
        if intent == "place":
            outcome = await need_actions(actions).run(account, order_id, "place", {})
            if outcome.refusal is not None:
                return RedirectResponse(f"/orders/{order_id}?refused=place",
                                        status_code=303)
            done = "place"
        return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)

    def order_view(request: Request, account: AccountRow, order_id: str, code: int = 200,
                   refused: str = "", done: str = "") -> HTMLResponse:
        d = _detail(store, gate.visible_order(account, order_id), now(), timings)
        return page(request, "order.html", account, code, d=d,
                    temporal_ui=temporal_ui if account.role == Role.SUPPORT else "",
                    refused=refused, done=DONE.get(done, ""), can_act=actions is not None,
                    ctps=[c.value for c in Ctp], passes=PASSES,
                    audit=audit_rows(store, order_id)[:50],
                    notifications=notification_rows(store, order_id))

    @app.get("/orders/{order_id}", response_class=HTMLResponse)
    async def order_page(request: Request, order_id: str, done: str = "",
                         refused: str = "") -> HTMLResponse:
        account = gate.signed_in(request)
        why = "the order refused it: see its status and hold" if refused else ""
        return order_view(request, account, order_id, done=done, refused=why)

    @app.post("/orders/{order_id}/do/{name}", response_class=HTMLResponse,
              response_model=None)
    async def order_action(request: Request, order_id: str, name: str) -> Response:
        account = gate.signed_in(request)
        form = await request.form()
        gate.check_csrf(request, str(form.get("csrf", "")))
        order = gate.visible_order(account, order_id)
        fields = {k: v for k, v in form.items() if k != "csrf" and isinstance(v, str)}
        if fields.get("cutover"):  # a datetime-local field: the customer's wall clock
            fields["cutover"] = local_cutover(fields["cutover"], order.time_zone)
        if name in ("credentials_tenant", "credentials_source"):
            kind = name.removeprefix("credentials_")
            # the form's fields are f_<name>; the empty ones are left out
            values = {k[2:]: v for k, v in fields.items() if k.startswith("f_") and v}
            try:
                outcome = await need_actions(actions).credentials(account, order_id, kind, values)
            except InvalidInput as exc:
                return order_view(request, account, order_id, 422, refused=str(exc))
            done = "credentials"
        elif name == "import":
            upload = form.get("users_file")
            text = fields.get("users_csv", "")
            if isinstance(upload, UploadFile) and upload.filename:
                text = (await upload.read()).decode("utf-8", errors="replace")
            errors, refused = await need_actions(actions).import_users(account, order_id, text)
            if errors or refused:
                why = "; ".join([str(e) for e in errors] + [f"{u}: {r}" for u, r in refused])
                return order_view(request, account, order_id, 422 if errors else 409,
                                  refused=why)
            return RedirectResponse(f"/orders/{order_id}?done=import", status_code=303)
        else:
            if name not in ACTIONS:
                raise HTTPException(404, f"no action {name}")
            try:
                outcome = await need_actions(actions).run(account, order_id, name, fields)
            except InvalidInput as exc:
                return order_view(request, account, order_id, 422, refused=str(exc))
            done = name
        if outcome.refusal is not None:
            return order_view(request, account, order_id, 409, refused=outcome.refusal)
        return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)

    @app.get("/orders/{order_id}/report.{fmt}", response_model=None)
    async def report_download(request: Request, order_id: str, fmt: str) -> Response:
        account = gate.signed_in(request)
        gate.visible_order(account, order_id)
        if fmt not in REPORT_FILES:
            raise HTTPException(404, "the report comes as .html or .csv")
        return report_file(store, order_id, fmt)

    @app.get("/orders/{order_id}/live", response_class=HTMLResponse)
    async def order_live(request: Request, order_id: str) -> HTMLResponse:
        account = gate.signed_in(request)
        order = gate.visible_order(account, order_id)
        return page(request, "_live.html", account, d=_detail(store, order, now(), timings))

    # the order page's live part: one look at the store per watched order every
    # LIVE_EVERY_S (web/live.py), one render per change shared by the order's streams
    def markers(order_ids: list[str]) -> dict[str, tuple[object, ...]]:
        minute = now().replace(second=0, microsecond=0)  # the countdown moves on too
        return {o: (*m, minute) for o, m in store.live_markers(order_ids).items()}

    hub = LiveHub(markers, LIVE_EVERY_S)
    rendered: dict[tuple[str, str], tuple[int, str]] = {}

    def live_fragment(order_id: str, account: AccountRow) -> str:
        version = hub.version(order_id)
        key = (order_id, account.role.value)
        cached = rendered.get(key)
        if version and cached is not None and cached[0] == version:
            return cached[1]
        html = env.get_template("_live.html").render(
            d=_detail(store, store.get_order(order_id), now(), timings), account=account,
            csrf="")
        if version:
            rendered[key] = (version, html)
        return html

    @app.get("/orders/{order_id}/events")
    async def order_events(request: Request, order_id: str) -> StreamingResponse:
        """Server-sent events: the order's live part, rendered, each time it changes."""
        account = gate.signed_in(request)
        gate.visible_order(account, order_id)

        async def stream() -> AsyncIterator[bytes]:
            last = ""
            loop = asyncio.get_running_loop()
            checked = loop.time()
            with hub.watching(order_id):
                while not await request.is_disconnected():
                    # signed out or expired meanwhile (looked at every SESSION_EVERY_S);
                    # an open page alone keeps no session alive
                    if loop.time() - checked >= SESSION_EVERY_S:
                        checked = loop.time()
                        if gate.account_of(request, touch=False) is None:
                            yield b"event: ended\ndata: signed out\n\n"
                            return
                    seen = hub.version(order_id)
                    html = live_fragment(order_id, account)
                    if html != last:
                        last = html
                        data = "".join(f"data: {line}\n" for line in html.splitlines())
                        yield f"event: order\n{data}\n".encode()
                    await hub.changed(order_id, seen, SESSION_EVERY_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    # support console -------------------------------------------------------------
    @app.get("/support", response_class=HTMLResponse)
    async def support_page(request: Request) -> HTMLResponse:
        account = gate.signed_in(request)
        if account.role != Role.SUPPORT:
            raise HTTPException(403, "the support console is for support accounts")
        return page(request, "support.html", account, alerts=alert_queue(store),
                    audit=audit_rows(store)[:100], temporal_ui=temporal_ui)

    @app.post("/support/alerts/{order_id}/{idx}/ack")
    async def ack_alert(request: Request, order_id: str, idx: int,
                        csrf: str = Form(""), note: str = Form("")) -> RedirectResponse:
        account = gate.signed_in(request)
        gate.check_csrf(request, csrf)
        if account.role != Role.SUPPORT:
            raise HTTPException(403, "support accounts only")
        acknowledge(store, account, order_id, idx, note)
        return RedirectResponse("/support", status_code=303)

    # the account's API tokens ------------------------------------------------------
    @app.get("/account", response_class=HTMLResponse)
    async def account_page(request: Request) -> HTMLResponse:
        account = gate.signed_in(request)
        return page(request, "account.html", account, tokens=store.api_tokens(account.email),
                    new_token=None)

    @app.post("/account/tokens", response_class=HTMLResponse)
    async def new_token(request: Request, csrf: str = Form(""), name: str = Form("")
                        ) -> HTMLResponse:
        account = gate.signed_in(request)
        gate.check_csrf(request, csrf)
        _, token = create_token(store, account, name)
        return page(request, "account.html", account, tokens=store.api_tokens(account.email),
                    new_token=token)

    @app.post("/account/tokens/{token_id}/revoke")
    async def revoke(request: Request, token_id: str, csrf: str = Form("")
                     ) -> RedirectResponse:
        account = gate.signed_in(request)
        gate.check_csrf(request, csrf)
        revoke_token(store, account, token_id)
        return RedirectResponse("/account", status_code=303)

    @app.get("/docs", response_class=HTMLResponse)
    async def docs(request: Request) -> HTMLResponse:
        if not (HERE / "static" / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").exists():
            raise HTTPException(404, "the API's browsable docs need the npm packages "
                                     "(`make install`); the schema is at /openapi.json")
        return page(request, "docs.html", gate.account_of(request, touch=False))

    api_routes(app, store, gate, actions)
    enduser_routes(app, store, page, enduser, actions, limiter)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for route in app.routes:  # the schema documents the API; the pages are for people
        if hasattr(route, "include_in_schema") and not getattr(route, "path", "").startswith(
                ("/api/", "/healthz")):
            route.include_in_schema = False
    return app


async def _probe_source(values: dict[str, str], enduser: EndUser | None) -> str:
    """The wizard's live test of the source host: its IMAP greeting, or why not."""
    if enduser is None:
        return "The connection test is not available on this server."
    port = int(values["source_port"]) if values["source_port"].isdigit() else None
    return await enduser.probe(values["source_host"], port, values["source_security"])


def _local_path(path: str) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if path.startswith("/") and not path.startswith(("//", "/\\")) and "\n" not in path:
        return path
    return ""


def _orders_for(store: SqlStore, account: AccountRow, status: str) -> list[Any]:
    partner = None if account.role == Role.SUPPORT else account.partner
    return store.list_orders(limit=200, status=status or None, partner=partner)


def _badges(store: SqlStore, rows: list[Any]) -> dict[str, dict[str, int]]:
    """Open tasks and unacknowledged alerts per order of the list."""
    ids = [o.order_id for o in rows]
    counts = store.attention(ids)
    acked: dict[str, int] = {}
    for order_id, _ in store.alert_acks():
        acked[order_id] = acked.get(order_id, 0) + 1
    return {o: {"tasks": counts[o][0], "alerts": counts[o][1] - acked.get(o, 0)}
            for o in ids}


def _detail(store: SqlStore, o: OrderRow, at: datetime, timings: Timings) -> dict[str, Any]:
    """The order page's data for the order row `o` (read once by the caller)."""
    from mailflip.stack.views import order_detail

    order_id = o.order_id
    d = order_detail(store, order_id, o)
    d["cutover_at"] = o.cutover
    d["status_number"] = o.status.number
    d["statuses"] = [s.value for s in STATUS_ORDER]
    d["countdown"] = _countdown(o.cutover - at)
    # what the partner publishes: the TXT value the tenant gave (Verify Vanity Domain),
    # MX (gates Updating MX Record) and the advice records
    txt = store.domain_txt(order_id)
    d["dns"] = [{"domain": dom.name, "verified": dom.verified, "mx_ok": dom.mx_ok,
                 "txt_known": dom.name in txt,
                 "records": [{"type": "TXT", "name": "@", "value": v, "priority": None}
                             for v in txt.get(dom.name, [])]
                 + mx_records([dom.name]) + advice_records([dom.name])}
                for dom in store.domains(order_id)]
    # C-4h: the lock banner (R-LOCK-4H); the Updates refuse the partner's changes
    d["locked"] = bool(o.placed_at) and not o.completed and not o.cancelled and \
        in_lock_window(o.cutover, at, timings)
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
