"""A local Microsoft 365 in-process for tests: one tenant, an admin app, a DNS that
publishes only what a test puts in it, a manual clock; httpx over ASGI (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from mailflip.tenant.permissions import GRAPH_PERMISSIONS
from mailflip.tenant.simulator import (
    EXCHANGE_SCOPE,
    GRAPH_SCOPE,
    QUIET,
    AppConfig,
    Knobs,
    ManualClock,
    SimulatorConfig,
    SkuConfig,
    TenantConfig,
    create_app,
)

TENANT_ID = "4d1a2b3c-0000-4000-8000-00000000c0de"
INITIAL = "contoso.onmicrosoft.com"
SKU_ID = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
SECRET = "s3cret-value"
ALL_GRAPH = GRAPH_PERMISSIONS  # everything the admin app must hold
BASE = "https://m365.test"


@dataclass
class Dns:
    """TXT strings per name; nothing is published until a test publishes it."""

    txt: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, name: str) -> list[str]:
        self.asked.append(name)
        return list(self.txt.get(name, []))


def config(knobs: Knobs = QUIET, *, graph: tuple[str, ...] = ALL_GRAPH, units: int = 2,
           clock: ManualClock | None = None, dns: Dns | None = None) -> SimulatorConfig:
    app = AppConfig(CLIENT_ID, SECRET, graph_permissions=graph,
                    exchange_permissions=("Exchange.ManageAsApp",))
    tenant = TenantConfig(TENANT_ID, INITIAL, skus=(SkuConfig("O365_BUSINESS_PREMIUM",
                                                              SKU_ID, units),), apps=(app,))
    return SimulatorConfig((tenant,), knobs, dns or Dns(), clock or ManualClock())


def knobs(**changes: Any) -> Knobs:
    return replace(QUIET, **changes)


@dataclass
class Sim:
    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, Any] = field(default_factory=dict)  # tenant id -> SimulatedTenant

    async def token(self, scope: str = GRAPH_SCOPE, secret: str = SECRET,
                    tenant: str = INITIAL) -> httpx.Response:
        return await self.http.post(f"/{tenant}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": secret, "scope": scope})

    async def bearer(self, scope: str) -> dict[str, str]:
        if scope not in self.tokens:
            reply = await self.token(scope)
            assert reply.status_code == 200, reply.text
            self.tokens[scope] = reply.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    async def graph(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = await self.bearer(GRAPH_SCOPE)
        url = path if path.startswith("http") else f"/v1.0{path}"
        return await self.http.request(method, url, json=body, headers=headers)

    async def cmdlet(self, name: str, **parameters: Any) -> httpx.Response:
        return await self.invoke({"CmdletInput": {"CmdletName": name,
                                                  "Parameters": parameters}})

    async def invoke(self, body: Any) -> httpx.Response:
        headers = await self.bearer(EXCHANGE_SCOPE)
        return await self.http.post(f"/adminapi/beta/{INITIAL}/InvokeCommand", json=body,
                                    headers=headers)

    async def new_user(self, nickname: str, *, usage_location: str | None = "DE",
                       domain: str = INITIAL) -> httpx.Response:
        body: dict[str, Any] = {
            "accountEnabled": True, "displayName": nickname.title(), "mailNickname": nickname,
            "userPrincipalName": f"{nickname}@{domain}",
            "passwordProfile": {"password": "Xy!12345678", "forceChangePasswordNextSignIn": True}}
        if usage_location:
            body["usageLocation"] = usage_location
        return await self.graph("POST", "/users", body)

    async def assign(self, user_id: str) -> httpx.Response:
        return await self.graph("POST", f"/users/{user_id}/assignLicense", {
            "addLicenses": [{"skuId": SKU_ID, "disabledPlans": []}], "removeLicenses": []})


@asynccontextmanager
async def m365(cfg: SimulatorConfig | None = None) -> AsyncIterator[Sim]:
    app = create_app(cfg or config())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield Sim(http, tenants=app.state.tenants)
