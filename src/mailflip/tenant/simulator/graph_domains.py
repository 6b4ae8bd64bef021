"""Graph: /organization and /domains (add, TXT record, verify, enable Email, service
records). Verification asks the injected resolver for the domain's TXT strings, so it is
publishing the record in DNS that makes a domain verify."""

from __future__ import annotations

import hashlib
from typing import Any

from mailflip.tenant.simulator import odata
from mailflip.tenant.simulator.config import MxStyle
from mailflip.tenant.simulator.graph_call import (
    READ_DIRECTORY,
    WRITE_DIRECTORY,
    GraphCall,
    RouteTable,
)
from mailflip.tenant.simulator.model import Domain, SimulatedTenant
from mailflip.tenant.simulator.replies import Reply, bad_request, conflict, not_emulated, not_found

routes = RouteTable()
READ = ("Domain.Read.All", "Domain.ReadWrite.All", *READ_DIRECTORY)
WRITE = ("Domain.ReadWrite.All", *WRITE_DIRECTORY)
ORG_READ = ("Organization.Read.All", "Organization.ReadWrite.All", *READ_DIRECTORY)
TTL = 3600


def domain_json(domain: Domain) -> dict[str, Any]:
    return {"id": domain.id, "authenticationType": "Managed", "isAdminManaged": True,
            "isDefault": domain.is_default, "isInitial": domain.is_initial,
            "isRoot": True, "isVerified": domain.is_verified,
            "supportedServices": list(domain.supported_services), "state": None,
            "passwordNotificationWindowInDays": 14,
            "passwordValidityPeriodInDays": 2147483647}


@routes.add("GET", "/organization", ORG_READ)
async def get_organization(call: GraphCall) -> Reply:
    tenant = call.tenant
    verified = [{"name": d.id, "isDefault": d.is_default, "isInitial": d.is_initial,
                 "type": "Managed", "capabilities": ", ".join(d.supported_services) or "None"}
                for d in tenant.domains.values() if d.is_verified]
    org = {"id": tenant.tenant_id, "displayName": tenant.display_name,
           "verifiedDomains": verified, "tenantType": "AAD"}
    return odata.collection(call, [org], "organization")


@routes.add("GET", "/domains", READ)
async def list_domains(call: GraphCall) -> Reply:
    items = [domain_json(d) for d in call.tenant.domains.values()]
    return odata.collection(call, items, "domains")


@routes.add("POST", "/domains", WRITE)
async def add_domain(call: GraphCall) -> Reply:
    name = str(call.json_object().get("id", "")).lower().strip(".")
    if "." not in name:
        raise bad_request(f"Invalid domain name '{name}'.")
    if name in call.tenant.domains:
        raise conflict("id")
    domain = Domain(name)
    # a subdomain of a verified root verifies with it (M365.md §3)
    domain.is_verified = any(name.endswith(f".{d.id}") and d.is_verified and not d.is_initial
                             for d in call.tenant.domains.values())
    call.tenant.domains[name] = domain
    return odata.entity(call, domain_json(domain), "domains/$entity", status=201)


@routes.add("GET", "/domains/{id}", READ)
async def get_domain(call: GraphCall) -> Reply:
    return odata.entity(call, domain_json(_domain(call)), "domains/$entity")


@routes.add("DELETE", "/domains/{id}", WRITE)
async def delete_domain(call: GraphCall) -> Reply:
    """Graph refuses while anything still uses the domain (users' names, mailboxes'
    addresses); the initial domain is never removed."""
    domain = _domain(call)
    if domain.is_initial or domain.is_default:
        raise bad_request(f"The domain '{domain.id}' is the initial or default domain and "
                          "cannot be deleted.")
    suffix = "@" + domain.id
    used = [u.user_principal_name for u in call.tenant.users.values()
            if u.user_principal_name.lower().endswith(suffix)]
    used += [a for m in call.tenant.exchange.mailboxes.values() for a in m.addresses()
             if a.endswith(suffix)]
    if used:
        raise bad_request(f"Domain '{domain.id}' cannot be deleted: it is still used by "
                          f"{len(used)} object(s), e.g. {used[0]}.")
    del call.tenant.domains[domain.id]
    return Reply(204)


@routes.add("PATCH", "/domains/{id}", WRITE)
async def update_domain(call: GraphCall) -> Reply:
    domain = _domain(call)
    changes = call.json_object()
    for key in changes:
        if key not in ("supportedServices", "isDefault"):
            raise not_emulated(f"PATCH of domain property {key!r}")
    if "supportedServices" in changes:
        services = [str(s) for s in changes["supportedServices"]]
        if "Email" in services and "Email" not in domain.supported_services:
            domain.email_enabled_at = call.now
        domain.supported_services = services
    if changes.get("isDefault") is True:
        if not domain.is_verified:
            raise bad_request("Unverified domains cannot be set as the default domain.")
        for other in call.tenant.domains.values():
            other.is_default = other is domain
    return Reply(204)


@routes.add("GET", "/domains/{id}/verificationDnsRecords", READ)
async def verification_records(call: GraphCall) -> Reply:
    domain = _domain(call)
    text = call.tenant.verification_code(domain.id)
    records = [
        {"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "id": _record_id(domain, "txt"),
         "isOptional": False, "label": domain.id, "recordType": "Txt",
         "supportedService": "Email", "ttl": TTL, "text": text},
        {"@odata.type": "#microsoft.graph.domainDnsMxRecord", "id": _record_id(domain, "mx"),
         "isOptional": False, "label": domain.id, "recordType": "Mx",
         "supportedService": "Email", "ttl": TTL, "preference": 32767,
         "mailExchange": f"{text[3:]}.msv1.invalid"},
    ]
    return odata.collection(call, records, f"domains('{domain.id}')/verificationDnsRecords")


@routes.add("POST", "/domains/{id}/verify", WRITE)
async def verify_domain(call: GraphCall) -> Reply:
    domain = _domain(call)
    if not domain.is_verified:
        owner = _verified_elsewhere(call, domain.id)
        if owner is not None:
            raise bad_request(f"Domain verification failed: the domain '{domain.id}' is "
                              "already verified in another organization. Remove it there "
                              "first.")
        expected = call.tenant.verification_code(domain.id)
        published = await call.resolver(domain.id)
        if expected not in (t.strip().strip('"') for t in published):
            raise bad_request(f"Domain verification failed for '{domain.id}': the DNS TXT "
                              f"record '{expected}' was not found. Publish it and try again "
                              "later (DNS changes can take time to be visible).")
        domain.is_verified = True
    return odata.entity(call, domain_json(domain), "domains/$entity")


@routes.add("GET", "/domains/{id}/serviceConfigurationRecords", READ)
async def service_records(call: GraphCall) -> Reply:
    domain = _domain(call)
    records: list[dict[str, Any]] = []
    if "Email" in domain.supported_services:
        base = {"isOptional": False, "supportedService": "Email", "ttl": TTL}
        records = [
            {**base, "@odata.type": "#microsoft.graph.domainDnsMxRecord",
             "id": _record_id(domain, "svc-mx"), "label": domain.id, "recordType": "Mx",
             "preference": 0, "mailExchange": mx_host(call, domain.id)},
            {**base, "@odata.type": "#microsoft.graph.domainDnsTxtRecord",
             "id": _record_id(domain, "svc-spf"), "label": domain.id, "recordType": "Txt",
             "text": "v=spf1 include:spf.protection.outlook.com -all"},
            {**base, "@odata.type": "#microsoft.graph.domainDnsCnameRecord",
             "id": _record_id(domain, "svc-cname"), "label": f"autodiscover.{domain.id}",
             "recordType": "CName", "canonicalName": "autodiscover.outlook.com"},
        ]
    return odata.collection(call, records,
                            f"domains('{domain.id}')/serviceConfigurationRecords")


def mx_host(call: GraphCall, domain: str) -> str:
    """Both MX forms of M365.md §3; the newer one has a per-domain random-looking label."""
    dashes = domain.replace(".", "-")
    if call.knobs.mx_style is MxStyle.DANE:
        tag = hashlib.sha256(f"{call.tenant.tenant_id}/{domain}".encode()).hexdigest()[:6]
        return f"{dashes}.{tag}.mx.microsoft"
    return f"{dashes}.mail.protection.outlook.com"


def _domain(call: GraphCall) -> Domain:
    key = call.params["id"].lower()
    domain = call.tenant.domains.get(key)
    if domain is None:
        raise not_found(call.params["id"])
    return domain


def _verified_elsewhere(call: GraphCall, name: str) -> SimulatedTenant | None:
    return next((t for t in call.tenants if t is not call.tenant and name in t.domains
                 and t.domains[name].is_verified), None)


def _record_id(domain: Domain, kind: str) -> str:
    return hashlib.sha256(f"{domain.id}/{kind}".encode()).hexdigest()[:32]
