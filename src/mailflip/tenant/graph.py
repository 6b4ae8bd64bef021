"""GraphTenant: the Tenant port against a customer's Microsoft 365, Graph v1.0 for the
directory and Exchange Online cmdlets (ExoRunner) for what Graph cannot write.

Built by the composition root::

    tenant = GraphTenant(credentials=vault_lookup)                       # public cloud
    tenant = GraphTenant(credentials=..., login_url=..., graph_url=..., exo_url=...,
                         http=httpx.AsyncClient(transport=...), tokens=..., exo=...)

Errors: CredentialsInvalid (the tenant refuses the credentials), TenantNotReady (come
back after `retry_after_s`: throttled, replicating, provisioning), TenantApiError and
TenantStepUnsupported (permanent), GraphNonConformant / CmdletNonConformant (a bug here).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mailflip.errors import CredentialsInvalid, TenantNotReady
from mailflip.tenant import exo_steps, graph_app, graph_mailboxes
from mailflip.tenant.auth import (
    EXCHANGE_SCOPE,
    GRAPH_SCOPE,
    LOGIN_URL,
    CredentialsSource,
    MsalTokenSource,
    TokenSource,
)
from mailflip.tenant.exo import EXO_URL, CmdletError, ExoRunner, InvokeCommandRunner
from mailflip.tenant.http import GRAPH_URL, GraphClient, Retry, Sleep
from mailflip.tenant.permissions import (
    EXCHANGE_PERMISSIONS,
    GRAPH_PERMISSIONS,
    consent_url,
    grant_advice,
    missing_permissions,
    token_roles,
)
from mailflip.tenant.port import MailboxToCreate, SetupResult, TenantRef

DEFAULT_USAGE_LOCATION = "US"

# A licensed mailbox not provisioned yet: look again in this long (one Get-Mailbox-sized
# call per attempt; provisioning takes minutes, so 30 s overshoots it by 10 % at most).
PROVISIONING_WAIT_S = 30.0


class GraphTenant:
    def __init__(self, credentials: CredentialsSource, *, login_url: str = LOGIN_URL,
                 graph_url: str = GRAPH_URL, exo_url: str = EXO_URL,
                 http: httpx.AsyncClient | None = None, tokens: TokenSource | None = None,
                 exo: ExoRunner | None = None, retry: Retry = Retry(),
                 sleep: Sleep = asyncio.sleep,
                 usage_location: str = DEFAULT_USAGE_LOCATION,
                 on_app_secret: graph_app.SecretSink | None = None) -> None:
        self._credentials = credentials
        self._login_url = login_url
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0))
        self._tokens = tokens or MsalTokenSource(credentials, login_url)
        self.graph = GraphClient(self._http, self._tokens, graph_url, retry=retry,
                                 sleep=sleep)
        self.exo = exo or InvokeCommandRunner(self._http, self._tokens, exo_url, retry=retry,
                                              sleep=sleep)
        self._usage_location = usage_location
        self._on_app_secret = on_app_secret

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    async def aclose(self) -> None:
        await self._http.aclose()

    async def setup(self, t: TenantRef, vanity_domains: list[str]) -> SetupResult:
        await self.graph.ok(t, "GET", "/organization")  # token + Organization.Read.All
        await self._check_consent(t)
        await graph_app.ensure_app(self.graph, self.exo, t, self._on_app_secret)
        known = {d["id"].lower(): d for d in await self.graph.all(t, "/domains")}
        for name in vanity_domains:
            if name.lower() not in known:
                reply = await self.graph.call(t, "POST", "/domains", {"id": name})
                if reply.status == 201:
                    known[name.lower()] = reply.body
                elif "ObjectConflict" not in reply.detail_codes:  # added by a lost reply
                    reply.raise_for_error()
        skus = graph_mailboxes.free_skus(await self.graph.all(t, "/subscribedSkus"))
        verified = [d for d in vanity_domains if known.get(d.lower(), {}).get("isVerified")]
        return SetupResult(verified, {s.part_number: s.free for s in skus})

    async def _check_consent(self, t: TenantRef) -> None:
        """Every permission the order's steps need, read from the tokens: a missing one
        is named now, with where to grant it, not met as a 403 steps later."""
        missing: list[str] = []
        for scope, required in ((GRAPH_SCOPE, GRAPH_PERMISSIONS),
                                (EXCHANGE_SCOPE, EXCHANGE_PERMISSIONS)):
            missing += missing_permissions(required,
                                           token_roles(await self._tokens.token(t, scope)))
        if missing:
            creds = await self._credentials(t)
            consent = consent_url(self._login_url, creds.tenant, creds.client_id)
            raise CredentialsInvalid("the admin app's application permissions: "
                                     + grant_advice(missing, consent))

    async def create_mailboxes(self, t: TenantRef, items: list[MailboxToCreate]
                               ) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        users = [i for i in items if i.kind != "shared"]
        if users:
            created, errors = await graph_mailboxes.create_users(self.graph, t, users,
                                                                 self._usage_location)
            skus = graph_mailboxes.free_skus(await self.graph.all(t, "/subscribedSkus"))
            errors.update(await graph_mailboxes.assign_licences(self.graph, t, created, skus))
            for address, user in created.items():
                if address not in errors:
                    errors.update(await self._full_access(t, address,
                                                          user["userPrincipalName"]))
            out.update({i.address: errors.get(i.address) for i in users})
        for item in items:
            if item.kind == "shared":  # its mail moves over IMAP too: FullAccess as well
                error = await graph_mailboxes.create_shared(self.exo, t, item)
                if error is None:
                    error = (await self._full_access(t, item.address, item.address)).get(
                        item.address)
                out[item.address] = error
        return out

    async def _full_access(self, t: TenantRef, address: str, upn: str) -> dict[str, str]:
        try:
            await graph_app.grant_full_access(self.exo, t, upn)
        except CmdletError as exc:
            if exc.not_found:  # licensed, mailbox not provisioned yet: the retry waits
                raise TenantNotReady(f"{address}: mailbox still provisioning "
                                     f"({exc.message})", PROVISIONING_WAIT_S) from exc
            return {address: f"FullAccess for MigrationApp failed: {exc.message}"}
        return {}

    async def move_to_vanity(self, t: TenantRef, addresses: list[str]) -> None:
        for address in addresses:
            await graph_mailboxes.move_to_vanity(self.graph, t, address)

    async def domain_txt(self, t: TenantRef, domain: str) -> list[str]:
        records = await self.graph.all(t, f"/domains/{domain}/verificationDnsRecords")
        return [r["text"] for r in records if r.get("recordType") == "Txt"]

    async def verify_domain(self, t: TenantRef, domain: str) -> bool:
        reply = await self.graph.call(t, "POST", f"/domains/{domain}/verify")
        if reply.status == 400:  # TXT not (yet) visible: the activity polls again
            return False
        reply.raise_for_error()
        if "Email" not in (reply.body.get("supportedServices") or []):
            await self.graph.ok(t, "PATCH", f"/domains/{domain}",
                                {"supportedServices": ["Email"]})
        return bool(reply.body.get("isVerified"))

    async def apply_step(self, t: TenantRef, step: str, payload: dict[str, Any]) -> None:
        await exo_steps.apply_step(self.exo, t, step, payload)

    async def remove_service_identity(self, t: TenantRef) -> None:
        await graph_app.remove_app(self.graph, self.exo, t)
