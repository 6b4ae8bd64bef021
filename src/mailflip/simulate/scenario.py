"""Scenario files (SCENARIOS.md "File format"): parsed and checked, errors name the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from mailflip.domain.model import (
    DistributionGroupSpec,
    OrderSettings,
    OrderSpec,
    PermissionSpec,
    Poc,
    SharedMailboxSpec,
    SourceHost,
    UserSpec,
)
from mailflip.errors import InvalidInput

_SPAN = re.compile(r"^(\+)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_COMPLETE = timedelta(days=90)


def _span(value: str) -> tuple[bool, timedelta] | None:
    """`+1d4h`, `30m`, `20s`: (had a leading +, the span), or None if not a span."""
    m = _SPAN.match(value.strip())
    if not m or not any(m.groups()[1:]):
        return None
    d, h, mi, s = (int(x or 0) for x in m.groups()[1:])
    return m.group(1) == "+", timedelta(days=d, hours=h, minutes=mi, seconds=s)


def span(field: str, value: str, *, allow_zero: bool = False) -> timedelta:
    """The one duration syntax of scenario and world files: `20s`, `30m`, `2h`, `1d4h`,
    with or without a leading `+`."""
    parsed = _span(value)
    if parsed is None:
        raise InvalidInput(field, f"{value!r} is not a duration like 20s, 30m, 2h or 1d")
    if parsed[1] == timedelta(0) and not allow_zero:
        raise InvalidInput(field, "must be longer than zero")
    return parsed[1]


def _time_text(v: Any) -> Any:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, str | int | float):
        return str(v)
    return v


When = Annotated[str | datetime, BeforeValidator(_time_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PocIn(Strict):
    name: str
    email: str


class SourceIn(Strict):
    kind: Literal["imap", "gmail", "exchange", "maildir"] = "imap"
    host: str = ""
    port: int | None = None
    security: Literal["tls", "starttls", "none"] = "tls"
    admin_credentials: bool = False


class TenantIn(Strict):
    initial_domain: str


class SettingsIn(Strict):
    ssi: bool = False
    rules_and_connectors: bool = False
    report_subjects: bool = False


class UserIn(Strict):
    name: str
    source: str
    target: str
    sku: str
    aliases: list[str] = Field(default_factory=list)


class SharedIn(Strict):
    name: str
    address: str


class GroupIn(Strict):
    address: str
    members: list[str] = Field(default_factory=list)


class PermissionIn(Strict):
    mailbox: str
    grantee: str
    right: Literal["FullAccess", "SendAs"] = "FullAccess"


class OrderIn(Strict):
    partner: str
    partner_email: str | None = None
    customer: str
    poc: PocIn
    time_zone: str = "UTC"
    cutover: When
    source: SourceIn = Field(default_factory=SourceIn)
    tenant: TenantIn
    vanity_domains: list[str] = Field(default_factory=list)
    settings: SettingsIn = Field(default_factory=SettingsIn)
    users: list[UserIn] = Field(default_factory=list)
    shared_mailboxes: list[SharedIn] = Field(default_factory=list)
    public_folders: list[str] = Field(default_factory=list)
    distribution_groups: list[GroupIn] = Field(default_factory=list)
    mail_contacts: list[str] = Field(default_factory=list)
    permissions: list[PermissionIn] = Field(default_factory=list)


class WorldTenantIn(Strict):
    credentials_valid: bool = True
    licenses: dict[str, int] = Field(default_factory=dict)
    verified_domains: list[str] = Field(default_factory=list)
    mailbox_create_fails: list[str] = Field(default_factory=list)


class DnsIn(Strict):
    txt_published_at: When = "never"
    mx_to_m365_at: When = "never"


class UserWorldIn(Strict):
    ready_at: When


class SyncFailIn(Strict):
    mailbox: str
    pass_: Literal["initial", "resync", "final", "delta", "sweep"] = Field(alias="pass")
    until: When | None = None
    transient: bool = False


class SyncMissingIn(Strict):
    mailbox: str
    count: int = Field(ge=1)
    until: When


class SyncWorldIn(Strict):
    duration: str = "30m"
    fail: list[SyncFailIn] = Field(default_factory=list)
    skipped: dict[str, int] = Field(default_factory=dict)
    missing: list[SyncMissingIn] = Field(default_factory=list)


class FaultIn(Strict):
    ctp: str
    until: When


class WorldIn(Strict):
    tenant: WorldTenantIn = Field(default_factory=WorldTenantIn)
    dns: dict[str, DnsIn] = Field(default_factory=dict)
    users: dict[str, UserWorldIn] = Field(default_factory=dict)
    agents: dict[str, Literal["ready", "not_ready", "missing"]] = Field(default_factory=dict)
    sync: SyncWorldIn = Field(default_factory=SyncWorldIn)
    faults: list[FaultIn] = Field(default_factory=list)


class EventIn(Strict):
    at: When
    action: Literal["place", "change_cutover", "add_user", "remove_user", "update_settings",
                    "update_credentials", "release_hold", "rerun_ctp", "cancel", "rerun_sync",
                    "resolve_task"]
    by: Literal["partner", "support"] = "partner"
    cutover: When | None = None
    user: dict[str, Any] | None = None  # checked by the order (refused, not invalid)
    address: str | None = None
    settings: dict[str, Any] | None = None
    ctp: str | None = None
    mailbox: str | None = None  # rerun_sync
    pass_: str | None = Field(default=None, alias="pass")  # rerun_sync
    code: str | None = None  # resolve_task
    subject: str | None = None  # resolve_task
    reason: str | None = None  # resolve_task


class ScenarioIn(Strict):
    start: When
    until: When
    order: OrderIn
    world: WorldIn = Field(default_factory=WorldIn)
    events: list[EventIn] = Field(default_factory=list)


M = TypeVar("M", bound=BaseModel)


def read_section(path: Path, key: str) -> Any:
    """The `key:` section of a YAML file holding only that section (or the bare section)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput("file", str(exc)) from None
    if not isinstance(raw, dict):
        raise InvalidInput("file", f"must be a YAML mapping (with a `{key}:` section)")
    if key in raw:
        extra = sorted(set(raw) - {key})
        if extra:
            raise InvalidInput(extra[0], f"unexpected key beside `{key}:`")
        return raw[key] if raw[key] is not None else {}
    return raw


def parse_model(model: type[M], raw: Any, prefix: str) -> M:
    if not isinstance(raw, dict):
        raise InvalidInput(prefix, "must be a mapping")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join([prefix, *(str(p) for p in err["loc"])])
        raise InvalidInput(field, err["msg"]) from None


def load(path: str | Path) -> ScenarioIn:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput("file", str(exc)) from None
    return parse(raw)


def parse(raw: Any) -> ScenarioIn:
    if not isinstance(raw, dict):
        raise InvalidInput("file", "a scenario is a YAML mapping")
    try:
        return ScenarioIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "file"
        raise InvalidInput(field, err["msg"]) from None


class Clock:
    """Scenario times: absolute ISO 8601 UTC or offsets from `start`."""

    def __init__(self, start: When) -> None:
        self.start = self.absolute("start", start, allow_offset=False)

    @staticmethod
    def absolute(field: str, value: When, *, allow_offset: bool = False,
                 base: datetime | None = None) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        if allow_offset and base is not None:
            off = _span(value)
            if off is not None and off[0]:
                return base + off[1]
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(field, f"{value!r} is not an ISO 8601 time or +offset") from None
        if dt.tzinfo is None:
            raise InvalidInput(field, f"{value!r} needs a time zone (use Z for UTC)")
        return dt.astimezone(UTC)

    def at(self, field: str, value: When) -> datetime:
        return self.absolute(field, value, allow_offset=True, base=self.start)

    def maybe(self, field: str, value: When) -> datetime | None:
        """`never` -> None."""
        if isinstance(value, str) and value.strip() == "never":
            return None
        return self.at(field, value)



def to_spec(o: OrderIn, cutover: datetime) -> OrderSpec:
    return OrderSpec(
        partner=o.partner, customer=o.customer, poc=Poc(o.poc.name, o.poc.email),
        cutover=cutover, initial_domain=o.tenant.initial_domain, time_zone=o.time_zone,
        partner_email=o.partner_email,
        source=SourceHost(o.source.kind, o.source.host, o.source.port, o.source.security,
                          o.source.admin_credentials),
        vanity_domains=list(o.vanity_domains),
        settings=OrderSettings(o.settings.ssi, o.settings.rules_and_connectors,
                               o.settings.report_subjects),
        users=[UserSpec(u.name, u.source, u.target, u.sku, list(u.aliases)) for u in o.users],
        shared_mailboxes=[SharedMailboxSpec(s.name, s.address) for s in o.shared_mailboxes],
        public_folders=list(o.public_folders),
        distribution_groups=[DistributionGroupSpec(g.address, list(g.members))
                             for g in o.distribution_groups],
        mail_contacts=list(o.mail_contacts),
        permissions=[PermissionSpec(p.mailbox, p.grantee, p.right) for p in o.permissions],
    )
