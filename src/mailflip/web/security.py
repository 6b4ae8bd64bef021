"""Sign-in's second step and the account's security page: TOTP multi-factor (pyotp),
recovery codes, password change, the sessions a user can see and end; and support's
view of every account (end sessions, reset MFA) and the partners' MFA policy.

MFA is required for support accounts, and for a partner's accounts once support sets
that partner's policy; such an account without MFA reaches nothing but the page that
sets it up. Changing the password or MFA asks for the current password again
(re-authentication), and a new password ends every other session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mailflip.domain.names import Role
from mailflip.errors import InvalidInput
from mailflip.logs import mask
from mailflip.store.accounts import AccountRow
from mailflip.store.agents import token_hash
from mailflip.store.repositories import SqlStore

from .gate import COOKIE, LOGIN_CSRF, AddressLimiter, Gate, client_address
from .passwords import hash_password, verify_password

PENDING = "mf_mfa"  # the signed-in-by-password, code-not-yet-given cookie
PENDING_FOR = 300  # seconds to give the code in
ENROL_FOR = 600  # seconds to confirm a new authenticator
MFA_LOCK_AFTER, MFA_LOCK_FOR = 5, timedelta(minutes=15)
RECOVERY_CODES = 10
ISSUER = "mailflip"

Page = Callable[..., HTMLResponse]


def recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits; ten of them, each usable once
    return f"{raw[:5]}-{raw[5:]}"


def totp_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step `code` is valid for at `at` (one step of clock drift either way)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(at)
    for s in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(s), code):
            return s
    return None


def qr_svg(uri: str) -> str:
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def security_routes(app: FastAPI, store: SqlStore, gate: Gate, page: Page,
                    limiter: AddressLimiter, now: Callable[[], datetime],
                    secure_cookies: bool, secret_key: str,
                    login_limits: tuple[int, timedelta]) -> Callable[..., Response]:
    """Add the routes; returns `begin`, which the password step calls for an account
    whose password was right: the code step next, or a new session."""
    # its own key, derived from the portal's secret: what it seals (the pending sign-in,
    # a secret being set up) opens nowhere else
    sealer = Fernet(base64.urlsafe_b64encode(hashlib.sha256(
        b"mailflip-web-seal:" + secret_key.encode()).digest()))

    def seal(data: dict[str, Any]) -> str:
        return sealer.encrypt(json.dumps(data).encode()).decode()

    def unseal(token: str, ttl: int) -> dict[str, Any] | None:
        try:
            return dict(json.loads(sealer.decrypt(token.encode(), ttl=ttl)))
        except (InvalidToken, ValueError):
            return None

    def open_session(request: Request, account: AccountRow, next_path: str,
                     how: str) -> Response:
        store.login_succeeded(account.email)
        token = secrets.token_urlsafe(32)  # a new session id at every sign-in
        store.open_session(token_hash(token), account.email, client_address(request),
                           request.headers.get("user-agent"))
        store.audit(account.email, "sign_in", after={"by": how})
        response = RedirectResponse(next_path or "/orders", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=secure_cookies)
        response.delete_cookie(LOGIN_CSRF)
        response.delete_cookie(PENDING)
        return response

    def begin(request: Request, account: AccountRow, next_path: str) -> Response:
        if not account.mfa_enabled:
            return open_session(request, account, next_path, "password")
        response = RedirectResponse("/login/mfa", status_code=303)
        response.set_cookie(PENDING, seal({"email": account.email, "next": next_path}),
                            httponly=True, samesite="strict", secure=secure_cookies,
                            max_age=PENDING_FOR)
        return response

    # the code step ---------------------------------------------------------------
    def code_form(request: Request, code: int = 200, error: str = "") -> HTMLResponse:
        return page(request, "mfa_login.html", None, code, error=error,
                    csrf_login=request.cookies.get(LOGIN_CSRF, ""))

    @app.get("/login/mfa", response_class=HTMLResponse, response_model=None)
    async def mfa_form(request: Request) -> Response:
        if unseal(request.cookies.get(PENDING, ""), PENDING_FOR) is None:
            return RedirectResponse("/login", status_code=303)
        return code_form(request)

    @app.post("/login/mfa", response_model=None)
    async def mfa_submit(request: Request, code: str = Form(""), csrf: str = Form("")
                         ) -> Response:
        nonce = request.cookies.get(LOGIN_CSRF, "")
        if not nonce or not hmac.compare_digest(nonce, csrf):
            raise HTTPException(403, "the form is stale or not from this site: reload it")
        pending = unseal(request.cookies.get(PENDING, ""), PENDING_FOR)
        account = store.account(pending["email"]) if pending else None
        if pending is None or account is None:
            return RedirectResponse("/login", status_code=303)
        address = client_address(request)
        if limiter.blocked(address):
            return code_form(request, 429, "Too many failed attempts from here: try again "
                                           "in a few minutes.")
        if account.mfa_locked_until and account.mfa_locked_until > now():
            return code_form(request, 423, "Too many wrong codes: codes are refused for "
                                           "15 minutes. Support can help if you are locked "
                                           "out.")
        secret = store.totp_secret(account.email)
        step = totp_step(secret, code, now()) if secret else None
        if step is not None and store.use_totp_step(account.email, step):
            how = "password+totp"
        elif step is None and len(code.strip()) > 6 and store.use_recovery_code(
                account.email, code):
            how = "password+recovery code"
        else:
            limiter.failed(address)
            store.mfa_failed(account.email, MFA_LOCK_AFTER, MFA_LOCK_FOR)
            store.audit(account.email, "mfa_refused")
            return code_form(request, 401, "That code is wrong or was used already.")
        store.mfa_succeeded(account.email)
        return open_session(request, account, str(pending.get("next") or ""), how)

    # the account's security page -----------------------------------------------------
    def security_page(request: Request, account: AccountRow, code: int = 200,
                      **ctx: Any) -> HTMLResponse:
        current = token_hash(request.cookies.get(COOKIE, ""))
        fresh = store.account(account.email) or account
        return page(request, "security.html", fresh, code, **{
            "sessions": store.sessions_of(account.email), "current": current[:12],
            "required": gate.mfa_required(fresh),
            "recovery_left": store.recovery_codes_left(account.email),
            "enrol": None, "recovery": None, "note": "", "errors": {}, **ctx})

    def reauth(request: Request, account: AccountRow, password: str, csrf: str) -> None:
        gate.check_csrf(request, csrf)
        if not verify_password(account.password_hash, password):
            limiter.failed(client_address(request))
            store.login_failed(account.email, *login_limits)
            store.audit(account.email, "reauth_refused")
            raise InvalidInput("current_password", "that is not your current password")
        store.reauthenticated(token_hash(request.cookies.get(COOKIE, "")))

    def with_codes(request: Request, account: AccountRow, secret: str, action: str,
                   note: str) -> HTMLResponse:
        """TOTP on with `secret` and new recovery codes, shown this once."""
        codes = [recovery_code() for _ in range(RECOVERY_CODES)]
        store.set_totp(account.email, secret, codes)
        store.audit(account.email, action)
        return security_page(request, account, recovery=codes, note=note)

    def refused(request: Request, account: AccountRow, exc: InvalidInput) -> HTMLResponse:
        return security_page(request, account, 422, errors={exc.field: exc.message})

    @app.get("/account/security", response_class=HTMLResponse)
    async def security(request: Request) -> HTMLResponse:
        account = gate.signed_in(request, setting_up=True)
        note = "Your account must use multi-factor sign-in: set it up to go on." \
            if gate.mfa_required(account) and not account.mfa_enabled else ""
        return security_page(request, account, note=note)

    @app.post("/account/mfa/start", response_class=HTMLResponse)
    async def mfa_start(request: Request, csrf: str = Form(""),
                        current_password: str = Form("")) -> HTMLResponse:
        account = gate.signed_in(request, setting_up=True)
        try:
            reauth(request, account, current_password, csrf)
        except InvalidInput as exc:
            return refused(request, account, exc)
        secret = pyotp.random_base32()
        mask(secret)
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER)
        return security_page(request, account, enrol={
            "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
            "qr": qr_svg(uri), "sealed": seal({"email": account.email, "secret": secret})})

    @app.post("/account/mfa/confirm", response_class=HTMLResponse)
    async def mfa_confirm(request: Request, csrf: str = Form(""), sealed: str = Form(""),
                          code: str = Form("")) -> HTMLResponse:
        account = gate.signed_in(request, setting_up=True)
        gate.check_csrf(request, csrf)
        enrol = unseal(sealed, ENROL_FOR)
        if enrol is None or enrol.get("email") != account.email:
            return security_page(request, account, 422, errors={
                "code": "the set-up expired: start again"})
        step = totp_step(enrol["secret"], code, now())
        if step is None:
            return security_page(request, account, 422, enrol={**enrol, "qr": qr_svg(
                pyotp.TOTP(enrol["secret"]).provisioning_uri(
                    name=account.email, issuer_name=ISSUER)),
                "sealed": sealed, "secret": enrol["secret"]},
                errors={"code": "that code does not match: check the phone's clock"})
        page = with_codes(request, account, enrol["secret"], "mfa_enabled",
                          "Multi-factor sign-in is on.")
        store.use_totp_step(account.email, step)
        return page

    @app.post("/account/mfa/recovery", response_class=HTMLResponse)
    async def new_recovery(request: Request, csrf: str = Form(""),
                           current_password: str = Form("")) -> HTMLResponse:
        account = gate.signed_in(request)
        try:
            reauth(request, account, current_password, csrf)
        except InvalidInput as exc:
            return refused(request, account, exc)
        secret = store.totp_secret(account.email)
        if secret is None:
            return security_page(request, account, 409, note="Multi-factor sign-in is off.")
        return with_codes(request, account, secret, "mfa_recovery_codes_renewed",
                          "New recovery codes: the old ones no longer work.")

    @app.post("/account/mfa/off", response_class=HTMLResponse)
    async def mfa_off(request: Request, csrf: str = Form(""),
                      current_password: str = Form("")) -> HTMLResponse:
        account = gate.signed_in(request)
        if gate.mfa_required(account):
            return security_page(request, account, 409, note="Your account must keep "
                                 "multi-factor sign-in.")
        try:
            reauth(request, account, current_password, csrf)
        except InvalidInput as exc:
            return refused(request, account, exc)
        store.set_totp(account.email, None, [])
        store.audit(account.email, "mfa_disabled")
        return security_page(request, account, note="Multi-factor sign-in is off.")

    @app.post("/account/password", response_class=HTMLResponse, response_model=None)
    async def change_password(request: Request, csrf: str = Form(""),
                              current_password: str = Form(""), new_password: str = Form(""),
                              confirm_password: str = Form("")) -> Response:
        account = gate.signed_in(request)
        try:
            reauth(request, account, current_password, csrf)
            if new_password != confirm_password:
                raise InvalidInput("confirm_password", "the two new passwords differ")
            if new_password == current_password:
                raise InvalidInput("new_password", "choose a password you have not used here")
            hashed = hash_password(new_password, "new_password", account.email)
        except InvalidInput as exc:
            return refused(request, account, exc)
        store.set_password(account.email, hashed)  # ends every session, this one too
        store.audit(account.email, "password_changed")
        fresh = store.account(account.email)
        assert fresh is not None
        return open_session(request, fresh, "/account/security", "password change")

    @app.post("/account/sessions/end", response_model=None)
    async def end_sessions(request: Request, csrf: str = Form(""), session: str = Form("")
                           ) -> Response:
        account = gate.signed_in(request, setting_up=True)
        gate.check_csrf(request, csrf)
        current = token_hash(request.cookies.get(COOKIE, ""))
        if session == "others":
            ended = store.end_sessions(account.email, keep_hash=current)
        else:
            ended = store.end_sessions(account.email, session_id=session)
        store.audit(account.email, "sessions_ended", after={"which": session,
                                                            "ended": ended})
        return RedirectResponse("/account/security", status_code=303)

    # support: every account ------------------------------------------------------------
    def support_only(request: Request) -> AccountRow:
        account = gate.signed_in(request)
        if account.role != Role.SUPPORT:
            raise HTTPException(403, "support accounts only")
        return account

    @app.get("/support/accounts", response_class=HTMLResponse)
    async def accounts_page(request: Request) -> HTMLResponse:
        account = support_only(request)
        rows = [(a, len(store.sessions_of(a.email))) for a in store.accounts()]
        partners = sorted({a.partner for a, _ in rows if a.partner}
                          | set(store.partner_policies()))
        return page(request, "support_accounts.html", account, rows=rows,
                    policies={p: store.partner_requires_mfa(p) for p in partners}, now=now())

    @app.post("/support/accounts/{email}/end-sessions")
    async def support_end_sessions(request: Request, email: str, csrf: str = Form("")
                                   ) -> RedirectResponse:
        account = support_only(request)
        gate.check_csrf(request, csrf)
        ended = store.end_sessions(email)
        store.audit(account.email, "sessions_ended", after={"account": email,
                                                            "ended": ended})
        return RedirectResponse("/support/accounts", status_code=303)

    @app.post("/support/accounts/{email}/reset-mfa")
    async def support_reset_mfa(request: Request, email: str, csrf: str = Form("")
                                ) -> RedirectResponse:
        account = support_only(request)
        gate.check_csrf(request, csrf)
        store.set_totp(email, None, [])
        store.end_sessions(email)
        store.audit(account.email, "mfa_reset", after={"account": email})
        return RedirectResponse("/support/accounts", status_code=303)

    @app.post("/support/partners/{partner}/mfa")
    async def partner_mfa(request: Request, partner: str, csrf: str = Form(""),
                          require: str = Form("")) -> RedirectResponse:
        account = support_only(request)
        gate.check_csrf(request, csrf)
        store.set_partner_policy(partner, require == "on")
        store.audit(account.email, "partner_policy", after={"partner": partner,
                                                            "require_mfa": require == "on"})
        return RedirectResponse("/support/accounts", status_code=303)

    return begin
