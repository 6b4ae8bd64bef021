"""The REST API (`/api/...`, OpenAPI at /openapi.json, browsable at /docs): every partner
and support action of SPEC.md, the lists and the order detail, for automation and for
`mailflip orders --api`. Errors are JSON: {"error": ..., "field": ...} naming the field
with the CLI's words; a refusal by the order (R-LOCK-4H, a hold, ...) is 409 with the
order's reason. Sign in with an API token (`Authorization: Bearer mf_...`, made in the
portal, shown once) or the portal's session (plus its X-CSRF-Token on changes)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from mailflip.domain.names import Role
from mailflip.domain.throughput import Span, throughput
from mailflip.domain.timeline import iso_z_or_none as _iso
from mailflip.errors import InvalidInput
from mailflip.notify.report import csv_report, html_report, order_report
from mailflip.simulate.scenario import SettingsIn, UserIn  # an order file's own shapes
from mailflip.store.accounts import AccountRow, ApiTokenRow
from mailflip.store.repositories import SqlStore

from .actions import ACTIONS, OrderActions
from .gate import Gate


class Error(BaseModel):
    error: str
    field: str | None = None


class Accepted(BaseModel):
    accepted: bool = True
    status: str | None = Field(None, description="The order's status after the action")


class Created(BaseModel):
    order_id: str


class OrderPage(BaseModel):
    orders: list[dict[str, Any]]
    next: str | None = Field(None, description="Pass as `cursor` for the next page")


class Body_(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CutoverIn(Body_):
    cutover: str = Field(..., description="ISO 8601 with a zone, or an offset: +3d, +36h")


class ReleaseHoldIn(Body_):
    cutover: str | None = Field(None, description="A new cutover, when the hold needs one")


class RerunCtpIn(Body_):
    ctp: str = Field(..., description='The CTP\'s exact name, e.g. "Create Mailboxes"')


class RerunSyncIn(Body_):
    mailbox: str
    pass_name: str | None = Field(None, description="initial, resync, final, delta or "
                                  "sweep (default: the mailbox's last failed pass)")


class ResolveTaskIn(Body_):
    code: str
    subject: str | None = None
    reason: str


class RemoveUserIn(Body_):
    address: str


class CredentialsIn(Body_):
    values: dict[str, str] = Field(..., description="e.g. {tenant_id, client_id, "
                                   "client_secret} or {username, password}; write-only")


class AckIn(Body_):
    note: str = ""


class TokenIn(Body_):
    name: str = Field(..., description="What will use the token, e.g. 'billing sync'")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error}, 403: {"model": Error}, 404: {"model": Error},
    409: {"model": Error, "description": "Refused by the order (the reason says why)"},
    422: {"model": Error}, 503: {"model": Error}}


def _cursor(text: str | None) -> int:
    if not text:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(text.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor this API gave") from None
    if value < 0:
        raise InvalidInput("cursor", "not a cursor this API gave")
    return value


def _next_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def alert_queue(store: SqlStore, acknowledged: bool = False) -> list[dict[str, Any]]:
    """Every order's alerts for support, critical mx_stuck first, completion_blocked
    next, then by age; acknowledged ones only when asked."""
    acks = store.alert_acks()
    rank = {"mx_stuck": 0, "completion_blocked": 1}
    rows = []
    for a in store.alerts():
        ack = acks.get((a.order_id, a.idx))
        if (ack is not None) != acknowledged:
            continue
        rows.append({"order_id": a.order_id, "idx": a.idx, "code": a.code,
                     "severity": a.severity, "at": _iso(a.at), "detail": a.detail,
                     "acknowledged_by": ack.by if ack else None,
                     "note": ack.note if ack else None})
    rows.sort(key=lambda r: (r["severity"] != "critical", rank.get(str(r["code"]), 2),
                             str(r["at"])))
    return rows


def audit_rows(store: SqlStore, order_id: str | None = None) -> list[dict[str, Any]]:
    return [{"at": _iso(r.at), "actor": r.actor, "order_id": r.order_id,
             "action": r.action, "before": r.before, "after": r.after}
            for r in store.audit_log(order_id)]


def notification_rows(store: SqlStore, order_id: str) -> list[dict[str, Any]]:
    return [{"template": n.template, "to": n.recipient, "subject": n.subject,
             "state": n.state, "created_at": _iso(n.created_at), "sent_at": _iso(n.sent_at)}
            for n in store.notifications(order_id)]


REPORT_FILES = {"html": (html_report, "text/html"), "csv": (csv_report, "text/csv")}


def report_file(store: SqlStore, order_id: str, fmt: str) -> Response:
    """The reconciliation report as a file to download, `fmt` one of REPORT_FILES."""
    render, media = REPORT_FILES[fmt]
    return Response(render(order_report(store, order_id)), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{order_id}-report.{fmt}"'})


# what the pages and the API both do, with its audit entry ----------------------------
def need_actions(actions: OrderActions | None) -> OrderActions:
    if actions is None:
        raise HTTPException(503, "actions need the Temporal cluster, which this server "
                                 "was started without")
    return actions


def acknowledge(store: SqlStore, account: AccountRow, order_id: str, idx: int,
                note: str) -> None:
    store.ack_alert(order_id, idx, account.email, note)
    store.audit(account.email, "ack_alert", order_id, None, {"alert": idx, "note": note})


def create_token(store: SqlStore, account: AccountRow, name: str) -> tuple[ApiTokenRow, str]:
    row, token = store.new_api_token(account.email, name)
    store.audit(account.email, "api_token_created", None, None, {"id": row.id,
                                                                  "name": row.name})
    return row, token


def revoke_token(store: SqlStore, account: AccountRow, token_id: str) -> None:
    store.revoke_api_token(account.email, token_id)
    store.audit(account.email, "api_token_revoked", None, None, {"id": token_id})


def api_routes(app: FastAPI, store: SqlStore, gate: Gate,
               actions: OrderActions | None) -> None:
    # declares the bearer token in the schema (Swagger UI's Authorize); Gate checks it
    bearer = HTTPBearer(auto_error=False, description="An API token made in the portal")
    r = APIRouter(prefix="/api", responses=ERRORS, dependencies=[Depends(bearer)])

    def support(account: AccountRow) -> None:
        if account.role != Role.SUPPORT:
            raise HTTPException(403, "support accounts only")

    async def act(request: Request, order_id: str, name: str, body: BaseModel
                  ) -> JSONResponse:
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        if ACTIONS[name].support_only:
            support(account)
        outcome = await need_actions(actions).run(account, order_id, name,
                                                  body.model_dump())
        if outcome.refusal is not None:
            return JSONResponse({"error": outcome.refusal}, status_code=409)
        return JSONResponse(Accepted(status=outcome.status).model_dump())

    @r.get("/orders", response_model=OrderPage)
    async def list_orders(request: Request, status: str = "", partner: str = "",
                          sort: str = "updated", cursor: str = "", limit: int = 50
                          ) -> dict[str, Any]:
        """Orders the account sees, `sort`ed (updated: most recently changed first;
        cutover: soonest first; customer; created: newest first), a page at a time."""
        from mailflip.stack.views import order_summary

        account = gate.api_account(request)
        if account.role == Role.PARTNER:
            if partner and partner != account.partner:
                raise InvalidInput("partner", "a partner account sees its own orders only")
            partner = account.partner or ""
        offset = _cursor(cursor)
        rows = store.list_orders(limit=limit, offset=offset, status=status or None,
                                 partner=partner or None, sort=sort)
        more = len(rows) == limit and bool(store.list_orders(
            limit=1, offset=offset + limit, status=status or None, partner=partner or None,
            sort=sort))
        return {"orders": [order_summary(o) for o in rows],
                "next": _next_cursor(offset + limit) if more else None}

    @r.post("/orders", status_code=201, response_model=Created)
    async def create_order(request: Request, order: dict[str, Any] = Body(
            ..., description="The `order:` section of SCENARIOS.md, as JSON")
                           ) -> dict[str, str]:
        account = gate.api_account(request)
        return {"order_id": await need_actions(actions).create(account, order)}

    @r.get("/orders/{order_id}")
    async def get_order(request: Request, order_id: str) -> dict[str, Any]:
        """Statuses, CTPs (state, attempts, errors), tasks, alerts, per-mailbox syncs
        (pass, progress, messages, bytes, throughput, ETA), the emails sent."""
        from mailflip.stack.views import order_detail

        account = gate.api_account(request)
        order = gate.visible_order(account, order_id)
        detail = order_detail(store, order_id, order)
        detail["notifications"] = notification_rows(store, order_id)
        return detail

    @r.get("/orders/{order_id}/report", response_model=None)
    async def get_report(request: Request, order_id: str, format: str = "json"
                         ) -> Response | dict[str, Any]:
        """The reconciliation report (R-RECONCILE): json, html or csv."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        if format in REPORT_FILES:
            return report_file(store, order_id, format)
        if format != "json":
            raise InvalidInput("format", "must be json, html or csv")
        return order_report(store, order_id)

    @r.get("/orders/{order_id}/throughput")
    async def get_throughput(request: Request, order_id: str) -> list[dict[str, Any]]:
        """Messages and MB copied per minute over time (every pass of the order)."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        return throughput([Span(p.started_at or p.ended_at, p.ended_at, p.messages, p.bytes)
                           for p in store.passes(order_id)])

    @r.get("/orders/{order_id}/audit")
    async def get_audit(request: Request, order_id: str) -> list[dict[str, Any]]:
        """Every action on the order: who, when, what, before and after."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        return audit_rows(store, order_id)

    @r.post("/orders/{order_id}/place", response_model=Accepted)
    async def place(request: Request, order_id: str) -> JSONResponse:
        return await act(request, order_id, "place", Body_())

    @r.post("/orders/{order_id}/cutover", response_model=Accepted)
    async def cutover(request: Request, order_id: str, body: CutoverIn) -> JSONResponse:
        return await act(request, order_id, "cutover", body)

    @r.post("/orders/{order_id}/cancel", response_model=Accepted)
    async def cancel(request: Request, order_id: str) -> JSONResponse:
        return await act(request, order_id, "cancel", Body_())

    @r.post("/orders/{order_id}/users", response_model=Accepted)
    async def add_user(request: Request, order_id: str, body: UserIn) -> JSONResponse:
        return await act(request, order_id, "add_user", body)

    @r.post("/orders/{order_id}/users/remove", response_model=Accepted)
    async def remove_user(request: Request, order_id: str, body: RemoveUserIn
                          ) -> JSONResponse:
        return await act(request, order_id, "remove_user", body)

    @r.post("/orders/{order_id}/users/import")
    async def import_users(request: Request, order_id: str,
                           csv: str = Body(..., media_type="text/csv")) -> JSONResponse:
        """A CSV of users (name, source, target, sku[, aliases]); every bad row is
        reported by line and column, and then nothing is added."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        errors, refused = await need_actions(actions).import_users(account, order_id, csv)
        if errors:
            return JSONResponse({"error": f"{len(errors)} problem(s) in the file",
                                 "field": "csv", "rows": [vars(e) for e in errors]},
                                status_code=422)
        return JSONResponse({"accepted": not refused, "refused": [
            {"user": u, "error": why} for u, why in refused]})

    @r.put("/orders/{order_id}/settings", response_model=Accepted)
    async def settings(request: Request, order_id: str, body: SettingsIn) -> JSONResponse:
        return await act(request, order_id, "settings", body)

    @r.put("/orders/{order_id}/credentials/{kind}", response_model=Accepted)
    async def credentials(request: Request, order_id: str, kind: str, body: CredentialsIn
                          ) -> JSONResponse:
        """Write-only: stored encrypted, never shown back; the order is told (a Setup
        Office 365 Account that failed on bad credentials reruns)."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        outcome = await need_actions(actions).credentials(account, order_id, kind,
                                                          body.values)
        if outcome.refusal is not None:
            return JSONResponse({"error": outcome.refusal}, status_code=409)
        return JSONResponse(Accepted(status=outcome.status).model_dump())

    @r.post("/orders/{order_id}/release-hold", response_model=Accepted)
    async def release_hold(request: Request, order_id: str, body: ReleaseHoldIn
                           ) -> JSONResponse:
        return await act(request, order_id, "release_hold", body)

    @r.post("/orders/{order_id}/rerun-ctp", response_model=Accepted)
    async def rerun_ctp(request: Request, order_id: str, body: RerunCtpIn) -> JSONResponse:
        return await act(request, order_id, "rerun_ctp", body)

    @r.post("/orders/{order_id}/rerun-sync", response_model=Accepted)
    async def rerun_sync(request: Request, order_id: str, body: RerunSyncIn) -> JSONResponse:
        return await act(request, order_id, "rerun_sync", body)

    @r.post("/orders/{order_id}/resolve-task", response_model=Accepted)
    async def resolve_task(request: Request, order_id: str, body: ResolveTaskIn
                           ) -> JSONResponse:
        return await act(request, order_id, "resolve_task", body)

    @r.post("/orders/{order_id}/alerts/{idx}/ack", response_model=Accepted)
    async def ack_alert(request: Request, order_id: str, idx: int, body: AckIn
                        ) -> dict[str, Any]:
        """Support takes an alert on: it leaves the alert queue."""
        account = gate.api_account(request)
        gate.visible_order(account, order_id)
        support(account)
        acknowledge(store, account, order_id, idx, body.note)
        return {"accepted": True, "status": None}

    @r.get("/alerts")
    async def alerts(request: Request, acknowledged: bool = False) -> list[dict[str, Any]]:
        """Support's alert queue over every order."""
        account = gate.api_account(request)
        support(account)
        return alert_queue(store, acknowledged)

    @r.get("/audit")
    async def audit(request: Request) -> list[dict[str, Any]]:
        """The whole audit log, newest first (support)."""
        account = gate.api_account(request)
        support(account)
        return audit_rows(store)

    @r.get("/tokens")
    async def tokens(request: Request) -> list[dict[str, Any]]:
        """Your API tokens (never the tokens themselves)."""
        account = gate.api_account(request)
        return [{"id": t.id, "name": t.name, "created_at": _iso(t.created_at),
                 "last_used": _iso(t.last_used)} for t in store.api_tokens(account.email)]

    @r.post("/tokens", status_code=201)
    async def new_token(request: Request, body: TokenIn) -> dict[str, str]:
        """A new API token for your account: shown in this answer only, keep it."""
        account = gate.api_account(request)
        row, token = create_token(store, account, body.name)
        return {"id": row.id, "name": row.name, "token": token}

    @r.delete("/tokens/{token_id}", status_code=204)
    async def revoke(request: Request, token_id: str) -> Response:
        account = gate.api_account(request)
        revoke_token(store, account, token_id)
        return Response(status_code=204)

    app.include_router(r)
