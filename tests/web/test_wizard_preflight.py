"""The wizard's tenant check: `mailflip tenant check`'s pre-flight against the local
Microsoft 365 (in process), GO with the right app secret and NO-GO with a wrong one, the
secret never shown back; placing the order stores it, encrypted, as the order's tenant
credentials."""

from __future__ import annotations

import re
from typing import Any

import httpx

from mailflip.store.repositories import SqlStore
from mailflip.tenant.auth import FormTokenSource, TenantCredentials
from mailflip.tenant.exo import InvokeCommandRunner
from mailflip.tenant.http import GraphClient
from mailflip.tenant.preflight import Probe, run_preflight
from mailflip.tenant.simulator import create_app
from tests.adapters.m365_world import BASE, CLIENT_ID, INITIAL, SECRET, config
from tests.web.conftest import ANN, PASSWORD
from tests.web.live import live_portal


def local_preflight() -> Any:
    m365 = create_app(config())

    async def check(creds: TenantCredentials, spec: Any) -> Any:
        async def given(_: Any) -> TenantCredentials:
            return creds

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=m365),
                                     base_url=BASE) as http:
            tokens = FormTokenSource(given, http, BASE)
            probe = Probe(GraphClient(http, tokens, BASE), InvokeCommandRunner(http, tokens, BASE),
                          tokens, http, BASE, creds.client_id)
            return await run_preflight(probe, spec.initial_domain, spec)

    return check


def form(csrf: str, secret: str, intent: str) -> dict[str, str]:
    return {"csrf": csrf, "intent": intent, "customer": "Contoso Ltd", "poc_name": "Pat Doe",
            "poc_email": f"pat@{INITIAL}", "source_kind": "imap",
            "source_host": "mail.contoso.example", "source_security": "tls",
            "initial_domain": INITIAL, "time_zone": "Europe/London", "cutover": "+3d",
            "users_csv": f"name,source,target,sku\nAnn,ann@old.example,ann@{INITIAL},"
                         "O365_BUSINESS_PREMIUM\n",
            "client_id": CLIENT_ID, "client_secret": secret}


async def test_the_wizard_checks_the_tenant_and_never_shows_the_secret_back(
        web_store: SqlStore) -> None:
    async with live_portal(web_store, preflight=local_preflight()) as live, live.http() as c:
        await c.get("/login")
        await c.post("/login", data={"email": ANN, "password": PASSWORD,
                                     "csrf": c.cookies.get("mf_login_csrf") or ""})
        page = (await c.get("/orders/new")).text
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None
        csrf = found.group(1)

        go = await c.post("/orders/new", data=form(csrf, SECRET, "check_tenant"))
        assert go.status_code == 200, go.text
        assert "Tenant pre-flight of contoso.onmicrosoft.com: GO" in go.text
        assert SECRET not in go.text

        wrong = "not-the-secret-7b1d"
        nogo = await c.post("/orders/new", data=form(csrf, wrong, "check_tenant"))
        assert "NO-GO" in nogo.text and wrong not in nogo.text

        placed = await c.post("/orders/new", data=form(csrf, SECRET, "place"))
        assert placed.status_code == 200 and "Order placed" in placed.text
        order_id = str(placed.url).rsplit("/", 1)[1].split("?")[0]
        assert web_store.load_credentials(order_id, "tenant") == {
            "tenant_id": INITIAL, "client_id": CLIENT_ID, "client_secret": SECRET}
        assert SECRET not in placed.text
