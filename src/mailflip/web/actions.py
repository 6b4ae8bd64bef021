"""What the portal and the API do to orders: each action is checked here (bad input names
its field, as the CLI's does), run as the order workflow's Update (which applies SPEC.md:
R-LOCK-4H refuses a partner and lets support through, a hold refuses a cutover change,
...), and written to the audit log with the order before and the change after, accepted
or refused. Secrets never reach the log: credentials are recorded by their field names.

The same table of actions serves the HTML forms and the JSON API, so both refuse the
same things with the same words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from mailflip.domain.model import OrderSettings, UserSpec
from mailflip.domain.names import Role, SyncPass
from mailflip.domain.timeline import iso_z_or_none as _iso
from mailflip.domain.users_csv import RowError, parse_users_csv
from mailflip.errors import InvalidInput
from mailflip.lifecycle.client import attempt
from mailflip.lifecycle.order import messages as m
from mailflip.lifecycle.order.messages import EngineSettings
from mailflip.lifecycle.order.workflow import OrderWorkflow
from mailflip.stack.orders import (
    check_ctp,
    order_from_text,
    order_handle,
    parse_when,
    start_order,
)
from mailflip.store.accounts import AccountRow
from mailflip.store.repositories import SqlStore

PASSES = tuple(p.value for p in SyncPass)
CREDENTIAL_KINDS = ("tenant", "source")
STORE_WAIT_S = 10.0  # a new order shows in the store once a worker mirrored it


def _text(fields: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, "must be text")
    return value.strip()


def _need(fields: Mapping[str, Any], name: str) -> str:
    value = _text(fields, name)
    assert value is not None
    return value


def _flag(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("on", "true", "1", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("", "off", "false", "0", "no"):
        return False
    raise InvalidInput(name, "must be true or false")


Built = tuple[Any, dict[str, Any]]  # (the Update's input, the change for the audit log)


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # for people: "change the cutover"
    update: Any
    build: Callable[[Mapping[str, Any], str, datetime], Built]
    support_only: bool = False  # shown to support only (the workflow refuses partners)


def _plain(cls: type) -> Callable[[Mapping[str, Any], str, datetime], Built]:
    return lambda f, by, now: (cls(by), {})


def _cutover(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    at = parse_when("cutover", _need(f, "cutover"), now)
    return m.ChangeCutoverInput(at, by), {"cutover": _iso(at)}


def _release(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    text = _text(f, "cutover", required=False)
    at = parse_when("cutover", text, now) if text else None
    return m.ReleaseHoldInput(at, by), {"cutover": _iso(at)}


def _rerun_ctp(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    ctp = check_ctp(_need(f, "ctp"))
    return m.RerunCtpInput(ctp, by), {"ctp": ctp}


def _rerun_sync(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    mailbox = _need(f, "mailbox").lower()
    pass_name = _text(f, "pass_name", required=False)
    if pass_name is not None and pass_name not in PASSES:
        raise InvalidInput("pass_name", "must be one of " + ", ".join(PASSES))
    return m.RerunSyncInput(mailbox, pass_name, by), {"mailbox": mailbox, "pass": pass_name}


def _resolve_task(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    code, subject = _need(f, "code"), _text(f, "subject", required=False)
    reason = _need(f, "reason")
    return m.ResolveTaskInput(code, subject, reason, by), {
        "code": code, "subject": subject, "reason": reason}


def _add_user(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    aliases = f.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.replace(",", ";").split(";") if a.strip()]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidInput("aliases", "must be a list of addresses")
    user = UserSpec(name=_need(f, "name"), source=_need(f, "source").lower(),
                    target=_need(f, "target").lower(), sku=_need(f, "sku"), aliases=aliases)
    return m.AddUserInput(user, by), {"user": user.target}


def _remove_user(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    address = _need(f, "address").lower()
    return m.RemoveUserInput(address, by), {"user": address}


def _settings(f: Mapping[str, Any], by: str, now: datetime) -> Built:
    s = OrderSettings(ssi=_flag(f, "ssi"), rules_and_connectors=_flag(f, "rules_and_connectors"),
                      report_subjects=_flag(f, "report_subjects"))
    return m.UpdateSettingsInput(s, by), {"settings": vars(s)}


W = OrderWorkflow
ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("place", "place the order", W.place, _plain(m.ActionInput)),
    Action("cutover", "change the cutover", W.change_cutover, _cutover),
    Action("cancel", "cancel the order", W.cancel, _plain(m.ActionInput)),
    Action("add_user", "add a user", W.add_user, _add_user),
    Action("remove_user", "remove a user", W.remove_user, _remove_user),
    Action("settings", "change the settings", W.update_settings, _settings),
    Action("release_hold", "release the hold", W.release_hold, _release, support_only=True),
    Action("rerun_ctp", "rerun a background task", W.rerun_ctp, _rerun_ctp,
           support_only=True),
    Action("rerun_sync", "rerun a mailbox's sync", W.rerun_sync, _rerun_sync,
           support_only=True),
    Action("resolve_task", "resolve a task", W.resolve_task, _resolve_task,
           support_only=True),
)}


def snapshot(store: SqlStore, order_id: str) -> dict[str, Any]:
    """The order as the audit log records it before an action."""
    o = store.get_order(order_id)
    return {"status": o.status.value, "cutover": _iso(o.cutover),
            "hold": o.hold_reason if o.on_hold else None}


@dataclass(frozen=True)
class Outcome:
    refusal: str | None = None  # None: accepted
    status: str | None = None  # the order's status after an accepted action


class OrderActions:
    """Runs actions on the Temporal cluster for signed-in accounts; see the module."""

    def __init__(self, client: Client, task_queue: str, engine: EngineSettings,
                 store: SqlStore, clock: Callable[[], datetime] | None = None) -> None:
        self.client, self.task_queue, self.engine = client, task_queue, engine
        self.store = store
        self.now = clock or (lambda: datetime.now(UTC))

    def check_create(self, actor: AccountRow, raw: object) -> Any:
        """The order as `actor` may create it (InvalidInput naming the field if not):
        a partner account creates orders of its own organisation only."""
        if not isinstance(raw, dict):
            raise InvalidInput("order", "must be a mapping of the order's fields")
        raw = dict(raw)
        if actor.role == Role.PARTNER:
            given = raw.setdefault("partner", actor.partner)
            if given != actor.partner:
                raise InvalidInput("order.partner", f"your account orders for "
                                                    f"{actor.partner} only")
        return order_from_text(raw, self.now(), self.engine.time_scale)

    async def create(self, actor: AccountRow, raw: object) -> str:
        spec = self.check_create(actor, raw)
        order_id = await start_order(self.client, self.task_queue, spec, self.engine)
        self.store.audit(actor.email, "create", order_id, None, {
            "customer": spec.customer, "users": len(spec.users),
            "cutover": _iso(spec.cutover)})
        await self._mirrored(order_id)
        return order_id

    async def _mirrored(self, order_id: str) -> None:
        """Until the worker's first mirror of the order (bounded: the page says "not
        found" a moment longer on a busy worker, the order exists regardless)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STORE_WAIT_S
        while loop.time() < deadline:
            try:
                self.store.get_order(order_id)
                return
            except InvalidInput:
                await asyncio.sleep(0.05)  # the worker's mirror activity is on its way

    async def run(self, actor: AccountRow, order_id: str, name: str,
                  fields: Mapping[str, Any]) -> Outcome:
        action = ACTIONS.get(name)
        if action is None:
            raise InvalidInput("action", f"unknown action {name!r}; one of: "
                                         + ", ".join(ACTIONS))
        arg, change = action.build(fields, actor.role.value, self.now())
        return await self._update(actor.email, order_id, name, action.update, arg, change)

    async def users_ready(self, actor: str, order_id: str, address: str) -> str | None:
        """An end user gave their password (the gather-info page): the refusal, if any."""
        outcome = await self._update(actor, order_id, "user_ready", OrderWorkflow.users_ready,
                                     m.UsersReadyInput([address]), {"user": address})
        return outcome.refusal

    async def _update(self, actor: str, order_id: str, name: str, update: Any,
                      arg: Any, change: dict[str, Any]) -> Outcome:
        before = snapshot(self.store, order_id)
        result, refusal = await attempt(order_handle(self.client, order_id), update, arg)
        if refusal is not None:
            self.store.audit(actor, name, order_id, before, {**change, "refused": refusal})
            return Outcome(refusal)
        status = result.status if isinstance(result, m.ActionResult) else None
        self.store.audit(actor, name, order_id, before, {**change, "status": status})
        return Outcome(None, status)

    async def credentials(self, actor: AccountRow, order_id: str, kind: str,
                          values: Mapping[str, Any]) -> Outcome:
        """Store new credentials (encrypted) and tell the order; the log names the
        fields given, never their values."""
        if kind not in CREDENTIAL_KINDS:
            raise InvalidInput("kind", "must be tenant or source")
        secret = {k: v for k, v in values.items() if isinstance(v, str) and v}
        if not secret or len(secret) != len(values) or not all(
                isinstance(k, str) and k for k in secret):
            raise InvalidInput("values", "give every field a non-empty text value")
        self.store.save_credentials(order_id, kind, secret)
        return await self._update(actor.email, order_id, f"credentials_{kind}",
                                  OrderWorkflow.update_credentials, m.ActionInput(
                                      actor.role.value), {"fields": sorted(secret)})

    async def import_users(self, actor: AccountRow, order_id: str, text: str
                           ) -> tuple[list[RowError], list[tuple[str, str]]]:
        """Add every good row of a users CSV to the order: (the file's errors, then
        (address, refusal) for rows the order refused). Nothing is added when the file
        has errors: fix it and send it again."""
        domains = {d.name for d in self.store.domains(order_id)}
        order = self.store.get_order(order_id)
        domains.add(order.initial_domain)
        existing = [a for b in self.store.mailboxes(order_id) for a in (b.address, b.source)]
        users, errors = parse_users_csv(text, domains, existing)
        if errors:
            return errors, []
        refused = []
        for u in users:
            outcome = await self._update(actor.email, order_id, "add_user",
                                         OrderWorkflow.add_user,
                                         m.AddUserInput(u, actor.role.value),
                                         {"user": u.target, "import": True})
            if outcome.refusal is not None:
                refused.append((u.target, outcome.refusal))
        return [], refused
