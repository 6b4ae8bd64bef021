"""Tenant pre-flight (`mailflip tenant check`): can an order run against this tenant?

Checks, in order, with the admin app's credentials: sign-in; the Graph and Exchange
Online permissions the tokens carry (missing ones named, with the admin-consent URL);
the order's vanity domains (verified, the TXT record to publish, or verified by another
tenant); licences per SKU against the order's users; Exchange Online's admin endpoint;
the IMAP endpoint. Each gives a `Check` (go, warn or no-go); the report is a no-go when
any check is.

The verdicts are plain functions over what was read (`*_checks`), tested without a
tenant; `run_preflight` only reads. It changes nothing in the tenant unless asked to add
the missing domains (`add_domains`), which Setup Office 365 Account would do anyway.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from mailflip.domain.model import OrderSpec
from mailflip.errors import CredentialsInvalid, TenantApiError, TenantNotReady
from mailflip.tenant.auth import EXCHANGE_SCOPE, GRAPH_SCOPE, TokenSource
from mailflip.tenant.exo import ExoRunner
from mailflip.tenant.http import GraphClient
from mailflip.tenant.permissions import (
    EXCHANGE_PERMISSIONS,
    GRAPH_PERMISSIONS,
    consent_url,
    grant_advice,
    missing_permissions,
    token_roles,
)
from mailflip.tenant.port import TenantRef


class Verdict(StrEnum):
    GO = "go"
    WARN = "warn"  # the order can run; someone has something to do
    NO_GO = "no-go"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


@dataclass
class Report:
    tenant: str
    checks: list[Check] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return all(c.verdict is not Verdict.NO_GO for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "go": self.go,
                "checks": [{"name": c.name, "verdict": c.verdict.value, "detail": c.detail}
                           for c in self.checks]}


@dataclass(frozen=True)
class DomainSeen:
    """A vanity domain as the tenant (and the login service) see it."""

    name: str
    in_tenant: bool
    verified: bool = False
    email: bool = False  # supportedServices has Email
    txt: str = ""  # the verification record, when the tenant has the domain
    owner_tenant: str = ""  # the tenant id the login service finds for it, if any


def permission_check(name: str, required: tuple[str, ...], granted: list[str] | None,
                     consent: str) -> Check:
    if granted is None:
        return Check(name, Verdict.WARN, "the token is not a JWT: granted permissions "
                                         "could not be read")
    missing = missing_permissions(required, granted)
    if missing:
        return Check(name, Verdict.NO_GO, grant_advice(missing, consent))
    return Check(name, Verdict.GO, ", ".join(required))


def domain_checks(seen: list[DomainSeen], tenant_id: str) -> list[Check]:
    checks = []
    for d in seen:
        name = f"domain {d.name}"
        if d.owner_tenant and d.owner_tenant.lower() != tenant_id.lower():
            checks.append(Check(name, Verdict.NO_GO, "verified in another tenant "
                                f"({d.owner_tenant}): remove it there first"))
        elif d.verified:
            checks.append(Check(name, Verdict.GO, "verified" + (
                "" if d.email else "; Email is enabled on it at Verify Domain")))
        elif d.in_tenant:
            checks.append(Check(name, Verdict.WARN, f"not verified yet: publish TXT "
                                f"\"{d.txt}\" at {d.name}" if d.txt else
                                "not verified yet (no TXT record listed)"))
        else:
            checks.append(Check(name, Verdict.WARN, "not in the tenant yet: Setup Office "
                                "365 Account adds it (or run with --add-domains to get the "
                                "TXT record to publish now)"))
    return checks


def licence_checks(skus: dict[str, tuple[int, int]], order: OrderSpec | None) -> list[Check]:
    """`skus`: part number -> (enabled, consumed). Per SKU the order's users need."""
    if order is None:
        return [Check(f"licences {part}", Verdict.GO,
                      f"{max(0, enabled - used)} free of {enabled}")
                for part, (enabled, used) in sorted(skus.items())]
    checks = []
    for part, needed in sorted(Counter(u.sku for u in order.users).items()):
        if part not in skus:
            checks.append(Check(f"licences {part}", Verdict.NO_GO, f"{needed} needed; the "
                                "tenant has no such subscription"))
            continue
        enabled, used = skus[part]
        free = max(0, enabled - used)
        verdict = Verdict.GO if free >= needed else Verdict.NO_GO
        checks.append(Check(f"licences {part}", verdict,
                            f"{needed} needed, {free} free of {enabled}"))
    return checks


@dataclass
class Probe:
    """What the pre-flight reads with: the adapter's own clients."""

    graph: GraphClient
    exo: ExoRunner
    tokens: TokenSource
    http: httpx.AsyncClient  # for the login service's OIDC discovery
    login_url: str
    client_id: str
    imap_url: str = ""  # imaps://host:port; empty: not checked
    imap_ssl: ssl.SSLContext | None = None


async def run_preflight(probe: Probe, tenant: str, order: OrderSpec | None = None, *,
                        add_domains: bool = False) -> Report:
    report = Report(tenant)
    t = TenantRef("preflight", tenant)
    consent = consent_url(probe.login_url, tenant, probe.client_id)
    try:
        graph_token = await probe.tokens.token(t, GRAPH_SCOPE)
    except CredentialsInvalid as exc:
        report.checks.append(Check("sign-in", Verdict.NO_GO, str(exc)))
        return report
    except (OSError, httpx.HTTPError, ConnectionError) as exc:
        report.checks.append(Check("sign-in", Verdict.NO_GO,
                                   f"the login service is unreachable: {exc}"))
        return report
    report.checks.append(Check("sign-in", Verdict.GO, f"app {probe.client_id}"))
    report.checks.append(permission_check("Graph permissions", GRAPH_PERMISSIONS,
                                          token_roles(graph_token), consent))
    exchange_token = await probe.tokens.token(t, EXCHANGE_SCOPE)
    report.checks.append(permission_check("Exchange Online permission",
                                          EXCHANGE_PERMISSIONS,
                                          token_roles(exchange_token), consent))
    tenant_id = await _read(report, "organization", _tenant_id(probe, t))
    if tenant_id is None:
        return report
    if order is not None and order.vanity_domains:
        seen = await _read(report, "domains", _domains(probe, t, order.vanity_domains,
                                                        add_domains))
        if seen is not None:
            report.checks.extend(domain_checks(seen, tenant_id))
    skus = await _read(report, "licences", _skus(probe, t))
    if skus is not None:
        report.checks.extend(licence_checks(skus, order))
    report.checks.append(await _exchange(probe, t))
    report.checks.append(await _imap(probe))
    return report


def _no_go(what: str, exc: Exception) -> Check:
    """A read the tenant refused, or could not answer: a no-go line instead of a crash."""
    if isinstance(exc, TenantApiError):
        reason = "refused"
    elif isinstance(exc, TenantNotReady):
        reason = "not answering now"
    else:
        reason = "unreachable"
    return Check(what, Verdict.NO_GO, f"{reason}: {exc}")


async def _read(report: Report, what: str, reading: Any) -> Any:
    try:
        return await reading
    except (TenantApiError, TenantNotReady) as exc:
        report.checks.append(_no_go(what, exc))
    return None


async def _tenant_id(probe: Probe, t: TenantRef) -> str:
    orgs = await probe.graph.all(t, "/organization")
    return str(orgs[0]["id"]) if orgs else ""


async def _domains(probe: Probe, t: TenantRef, names: list[str], add: bool
                   ) -> list[DomainSeen]:
    known = {d["id"].lower(): d for d in await probe.graph.all(t, "/domains")}
    seen = []
    for name in names:
        domain = known.get(name.lower())
        if domain is None and add:
            reply = await probe.graph.call(t, "POST", "/domains", {"id": name})
            if reply.status == 201:
                domain = reply.body
            else:
                reply.raise_for_error()
        if domain is None:
            seen.append(DomainSeen(name, False, owner_tenant=await _owner(probe, name)))
            continue
        txt = ""
        if not domain.get("isVerified"):
            records = await probe.graph.all(t, f"/domains/{name}/verificationDnsRecords")
            txt = next((r["text"] for r in records if r.get("recordType") == "Txt"), "")
        seen.append(DomainSeen(name, True, bool(domain.get("isVerified")),
                               "Email" in (domain.get("supportedServices") or []), txt,
                               await _owner(probe, name)))
    return seen


async def _owner(probe: Probe, domain: str) -> str:
    """The tenant the login service resolves `domain` to (OIDC discovery: only a verified
    domain resolves), or "" when none does."""
    url = f"{probe.login_url.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
    try:
        reply = await probe.http.get(url)
    except httpx.HTTPError:
        return ""
    if reply.status_code != 200:
        return ""
    issuer = str(reply.json().get("issuer", ""))
    return urlsplit(issuer).path.strip("/").split("/")[0]


async def _skus(probe: Probe, t: TenantRef) -> dict[str, tuple[int, int]]:
    out = {}
    for sku in await probe.graph.all(t, "/subscribedSkus"):
        enabled = int((sku.get("prepaidUnits") or {}).get("enabled", 0))
        out[str(sku["skuPartNumber"])] = (enabled, int(sku.get("consumedUnits", 0)))
    return out


async def _exchange(probe: Probe, t: TenantRef) -> Check:
    try:
        accepted = await probe.exo.run(t, "Get-AcceptedDomain", {})
    except (TenantApiError, TenantNotReady, httpx.HTTPError) as exc:
        return _no_go("Exchange Online", exc)
    names = sorted(str(d.get("DomainName", d.get("Name", ""))) for d in accepted)
    return Check("Exchange Online", Verdict.GO, f"accepted domains: {', '.join(names)}")


async def _imap(probe: Probe) -> Check:
    if not probe.imap_url:
        return Check("IMAP", Verdict.WARN, "not checked: no IMAP endpoint is set "
                                           "(MAILFLIP_M365_IMAP_URL)")
    parts = urlsplit(probe.imap_url)
    host, port = parts.hostname or "", parts.port or 993
    context = probe.imap_ssl or ssl.create_default_context()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context if parts.scheme == "imaps"
                                    else None), 10)
        try:
            greeting = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace")
            writer.write(b"p1 CAPABILITY\r\n")
            caps = ""
            while line := (await asyncio.wait_for(reader.readline(), 10)).decode(
                    errors="replace"):
                if line.upper().startswith("* CAPABILITY "):
                    caps = line.upper()
                if line.startswith("p1 "):
                    break
        finally:
            writer.close()
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return Check("IMAP", Verdict.NO_GO, f"{host}:{port} unreachable: {exc}")
    if not greeting.startswith("* OK"):
        return Check("IMAP", Verdict.NO_GO, f"{host}:{port} greeted {greeting.strip()!r}")
    if "AUTH=XOAUTH2" not in caps.split():
        return Check("IMAP", Verdict.NO_GO, f"{host}:{port} does not offer AUTH=XOAUTH2 "
                                            "(app-only IMAP needs it)")
    return Check("IMAP", Verdict.GO, f"{host}:{port} answers and offers XOAUTH2 (a login "
                                     "is tried by the first pass, once MigrationApp exists)")
