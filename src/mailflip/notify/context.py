"""What a notification template is filled in with: the order as the store has it, the
recipient, the values the workflow gave (kept small: they cross workflow history) and
the links the notifier made. Pure: plain data in, a dict out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailflip.domain.rules import M365_AUTODISCOVER, M365_SPF_INCLUDE, m365_mx_host
from mailflip.store.rows import OrderRow

RECORD_TTL = 3600


def email_time(at: datetime, time_zone: str) -> str:
    """`at` as the customer reads it: "Tuesday 15 December 2026, 18:00 CET (Europe/Berlin)"."""
    local = at.astimezone(ZoneInfo(time_zone))
    return f"{local:%A %d %B %Y, %H:%M} {local.tzname()} ({time_zone})"


def _record(domain: str, rtype: str, value: str, priority: int | None = None,
            name: str = "@") -> dict[str, Any]:
    return {"domain": domain, "type": rtype, "name": name, "value": value,
            "priority": priority, "ttl": RECORD_TTL}


def txt_records(records: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """The TXT records to publish, copy-ready, from the tenant's {domain: [values]}."""
    return [_record(d, "TXT", v) for d, values in sorted(records.items()) for v in values]


def advice_records(domains: list[str]) -> list[dict[str, Any]]:
    """What Outlook and other mail servers need once mail lives in Microsoft 365 - the
    autodiscover CNAME and the SPF include. Advice: neither gates the order (`mailflip
    orders dns ID` shows whether they are published)."""
    out = []
    for d in sorted(domains):
        out.append(_record(d, "CNAME", M365_AUTODISCOVER + ".", name="autodiscover"))
        out.append(_record(d, "TXT", f"v=spf1 {M365_SPF_INCLUDE} -all"))
    return out


def mx_records(domains: list[str]) -> list[dict[str, Any]]:
    """The MX record Microsoft 365 gives each domain (R-CTP-S7's classic form)."""
    return [_record(d, "MX", m365_mx_host(d) + ".", 0) for d in sorted(domains)]


def greeting(template: str, order: OrderRow, given: Mapping[str, Any]) -> str:
    if template.startswith("user_"):
        return str(given["name"])
    if template.startswith("poc_"):
        return order.poc_name
    return f"{order.partner} team"


def message_context(template: str, order: OrderRow, to: str, given: Mapping[str, Any],
                    links: Mapping[str, Any], verify_minutes: int) -> dict[str, Any]:
    local = order.cutover.astimezone(ZoneInfo(order.time_zone))
    ctx: dict[str, Any] = {
        **given, **links, "to": to, "greeting": greeting(template, order, given),
        "verify_minutes": verify_minutes,
        "order": {
            "id": order.order_id, "customer": order.customer, "partner": order.partner,
            "poc_name": order.poc_name, "initial_domain": order.initial_domain,
            "time_zone": order.time_zone, "cutover": email_time(order.cutover, order.time_zone),
            "cutover_date": f"{local:%d %B %Y}".lstrip("0"),
            "cutover_utc": order.cutover.isoformat(timespec="minutes")}}
    if "records" in given:  # partner_dns_txt: {domain: [TXT values]}
        ctx["records"] = txt_records(given["records"])
        ctx["domains"] = sorted(given["records"])
        ctx["advice"] = advice_records(ctx["domains"])
        ctx["spf_include"] = M365_SPF_INCLUDE
    elif "domains" in given and template == "partner_mx_change_needed":
        ctx["records"] = mx_records(list(given["domains"]))
    for key in ("short", "grades"):  # {name: count} -> sorted pairs
        if key in given:
            ctx[key] = sorted(given[key].items())
    return ctx
