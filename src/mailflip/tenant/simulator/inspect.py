"""What an order did to the local Microsoft 365, for a person: `/_sim/` (a page) and
`/_sim/tenants.json`. Users, licences, domains, mailboxes, groups, contacts, apps and
permissions of each tenant; never a secret (app passwords are counted, not shown)."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from mailflip.tenant.simulator.model import SimulatedTenant


def summary(tenant: SimulatedTenant) -> dict[str, Any]:
    ex = tenant.exchange
    names = {m.guid: m.email_addresses[0].split(":", 1)[-1] if m.email_addresses else m.name
             for m in ex.mailboxes.values()}
    names.update({s.guid: s.display_name for s in ex.service_principals.values()})
    skus = {s.config.sku_id: s.config.part_number for s in tenant.skus.values()}
    return {
        "tenant_id": tenant.tenant_id, "name": tenant.display_name,
        "domains": [{"name": d.id, "verified": d.is_verified, "initial": d.is_initial,
                     "services": d.supported_services} for d in tenant.domains.values()],
        "licences": [{"sku": s.config.part_number, "enabled": s.config.enabled,
                      "consumed": s.consumed} for s in tenant.skus.values()],
        "users": [{"upn": u.user_principal_name, "name": u.display_name,
                   "mail": u.mail or "", "usage_location": u.usage_location or "",
                   "licences": [skus.get(x, x) for x in u.licenses]}
                  for u in tenant.users.values()],
        "mailboxes": [{"address": names[m.guid], "kind": m.kind,
                       "addresses": m.email_addresses} for m in ex.mailboxes.values()],
        "groups": [{"address": g.primary_smtp, "members": [names.get(x, x) for x in g.members]}
                   for g in ex.groups.values()],
        "contacts": [c.external_email for c in ex.contacts.values()],
        "permissions": [{"mailbox": names.get(p.identity, p.identity),
                         "trustee": names.get(p.trustee, p.trustee), "rights": p.rights}
                        for p in ex.permissions],
        "apps": [{"name": a.display_name, "app_id": a.app_id, "secrets": len(a.secrets)}
                 for a in tenant.applications.values()],
        "rules_and_connectors": [{"kind": s.kind, "name": s.name} for s in ex.stored.values()],
    }


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"<h3>{escape(title)}</h3><p>none</p>"
    head = "".join(f"<th>{escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(_text(v))}</td>" for v in r.values())
                   + "</tr>" for r in rows)
    return f"<h3>{escape(title)} ({len(rows)})</h3><table><tr>{head}</tr>{body}</table>"


def _text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def page(tenants: tuple[SimulatedTenant, ...]) -> str:
    parts = ["<!doctype html><html><head><meta charset=utf-8><title>local Microsoft 365"
             "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>"
             "</head><body><h1>local Microsoft 365</h1>"]
    for tenant in tenants:
        s = summary(tenant)
        parts.append(f"<h2>{escape(s['name'])} ({escape(s['tenant_id'])})</h2>")
        for key in ("domains", "licences", "users", "mailboxes", "groups", "permissions",
                    "apps", "rules_and_connectors"):
            parts.append(_table(key.replace("_", " "), s[key]))
        parts.append(_table("contacts", [{"address": c} for c in s["contacts"]]))
    return "".join(parts) + "</body></html>"


def router(tenants: tuple[SimulatedTenant, ...]) -> APIRouter:
    r = APIRouter()

    @r.get("/_sim/")
    async def show() -> HTMLResponse:
        return HTMLResponse(page(tenants))

    @r.get("/_sim/tenants.json")
    async def as_json() -> JSONResponse:
        return JSONResponse([summary(t) for t in tenants])

    return r
