"""The local Microsoft 365, over HTTP: tokens, domains and their verification through
DNS, users and licences with Graph's consistency and conflict behaviour."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailflip.errors import InvalidInput
from mailflip.tenant.simulator import ManualClock, MxStyle, SimulatedTenant, TenantConfig, persist
from tests.adapters.m365_world import (
    INITIAL,
    SECRET,
    SKU_ID,
    Dns,
    config,
    knobs,
    m365,
)


async def test_token_is_issued_for_the_right_secret_and_opens_graph() -> None:
    async with m365() as sim:
        reply = await sim.token()
        assert reply.status_code == 200
        token = reply.json()
        assert token["token_type"] == "Bearer" and token["expires_in"] > 0
        org = await sim.http.get("/v1.0/organization",
                                 headers={"Authorization": f"Bearer {token['access_token']}"})
        assert org.status_code == 200
        assert org.json()["value"][0]["verifiedDomains"][0]["name"] == INITIAL


async def test_wrong_secret_is_invalid_client_aadsts7000215() -> None:
    async with m365() as sim:
        reply = await sim.token(secret="not-it")
        assert reply.status_code == 401
        assert reply.json()["error"] == "invalid_client"
        assert reply.json()["error_description"].startswith("AADSTS7000215")


async def test_unknown_tenant_is_aadsts90002() -> None:
    async with m365() as sim:
        reply = await sim.token(tenant="fabrikam.onmicrosoft.com")
        assert reply.status_code == 400
        assert reply.json()["error_description"].startswith("AADSTS90002")


async def test_expired_token_is_refused_by_graph() -> None:
    clock = ManualClock()
    async with m365(config(knobs(token_lifetime_s=60), clock=clock)) as sim:
        assert (await sim.graph("GET", "/organization")).status_code == 200
        clock.advance(61)
        reply = await sim.graph("GET", "/organization")
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_domain_verifies_only_once_its_txt_is_published_then_gives_its_mx() -> None:
    dns = Dns()
    async with m365(config(dns=dns)) as sim:
        added = await sim.graph("POST", "/domains", {"id": "my-company.co.uk"})
        assert added.status_code == 201 and added.json()["isVerified"] is False
        records = (await sim.graph("GET", "/domains/my-company.co.uk/"
                                          "verificationDnsRecords")).json()["value"]
        txt = next(r["text"] for r in records if r["recordType"] == "Txt")
        assert txt.startswith("MS=ms") and txt[5:].isdigit()
        again = (await sim.graph("GET", "/domains/my-company.co.uk/"
                                        "verificationDnsRecords")).json()["value"]
        assert txt in [r.get("text") for r in again]  # stable per tenant and domain

        failed = await sim.graph("POST", "/domains/my-company.co.uk/verify")
        assert failed.status_code == 400
        assert failed.json()["error"]["code"] == "Request_BadRequest"
        assert txt in failed.json()["error"]["message"]
        assert dns.asked == ["my-company.co.uk"]

        dns.txt["my-company.co.uk"] = ["v=spf1 -all", txt]
        verified = await sim.graph("POST", "/domains/my-company.co.uk/verify")
        assert verified.status_code == 200 and verified.json()["isVerified"] is True

        assert (await sim.graph("GET", "/domains/my-company.co.uk/"
                                       "serviceConfigurationRecords")).json()["value"] == []
        patched = await sim.graph("PATCH", "/domains/my-company.co.uk",
                                  {"supportedServices": ["Email"]})
        assert patched.status_code == 204
        service = (await sim.graph("GET", "/domains/my-company.co.uk/"
                                          "serviceConfigurationRecords")).json()["value"]
        mx = [r for r in service if r["recordType"] == "Mx"]
        assert [(r["mailExchange"], r["preference"]) for r in mx] == [
            ("my-company-co-uk.mail.protection.outlook.com", 0)]
        assert any(r.get("canonicalName") == "autodiscover.outlook.com" for r in service)


async def test_subdomain_of_a_verified_domain_is_verified_on_add() -> None:
    dns = Dns()
    async with m365(config(dns=dns)) as sim:
        await sim.graph("POST", "/domains", {"id": "contoso.com"})
        code = (await sim.graph("GET", "/domains/contoso.com/verificationDnsRecords")
                ).json()["value"][0]["text"]
        dns.txt["contoso.com"] = [code]
        assert (await sim.graph("POST", "/domains/contoso.com/verify")).status_code == 200
        sub = await sim.graph("POST", "/domains", {"id": "eu.contoso.com"})
        assert sub.json()["isVerified"] is True


async def test_new_user_is_404_for_the_configured_reads_then_found() -> None:
    async with m365(config(knobs(new_user_hidden_reads=2))) as sim:
        created = await sim.new_user("ann")
        assert created.status_code == 201
        user_id = created.json()["id"]
        for _ in range(2):
            missing = await sim.graph("GET", f"/users/{user_id}")
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
        found = await sim.graph("GET", f"/users/{user_id}")
        assert found.status_code == 200 and found.json()["userPrincipalName"] == f"ann@{INITIAL}"


async def test_duplicate_user_principal_name_is_object_conflict() -> None:
    async with m365() as sim:
        assert (await sim.new_user("ann")).status_code == 201
        duplicate = await sim.new_user("ann")
        assert duplicate.status_code == 400
        error = duplicate.json()["error"]
        assert error["code"] == "Request_BadRequest"
        assert error["message"] == ("Another object with the same value for property "
                                    "userPrincipalName already exists.")
        assert error["details"][0]["code"] == "ObjectConflict"


async def test_user_on_an_unverified_domain_is_refused() -> None:
    async with m365() as sim:
        await sim.graph("POST", "/domains", {"id": "contoso.com"})
        reply = await sim.new_user("ann", domain="contoso.com")
        assert reply.status_code == 400
        assert "verified domain names" in reply.json()["error"]["message"]


async def test_assign_license_needs_a_usage_location() -> None:
    async with m365() as sim:
        user_id = (await sim.new_user("ann", usage_location=None)).json()["id"]
        refused = await sim.assign(user_id)
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == (
            "License assignment cannot be done for user with invalid usage location.")
        skus = (await sim.graph("GET", "/subscribedSkus")).json()["value"]
        assert skus[0]["consumedUnits"] == 0


async def test_patched_usage_location_reaches_assign_license_only_after_its_delay() -> None:
    clock = ManualClock()
    async with m365(config(knobs(usage_location_delay_s=5), clock=clock)) as sim:
        user_id = (await sim.new_user("ann", usage_location=None)).json()["id"]
        assert (await sim.graph("PATCH", f"/users/{user_id}",
                                {"usageLocation": "DE"})).status_code == 204
        assert (await sim.assign(user_id)).status_code == 400
        clock.advance(5)
        assert (await sim.assign(user_id)).status_code == 200


async def test_assign_license_beyond_prepaid_units_is_refused_and_counts_stay() -> None:
    async with m365(config(units=1)) as sim:
        first = (await sim.new_user("ann")).json()["id"]
        second = (await sim.new_user("bob")).json()["id"]
        assigned = await sim.assign(first)
        assert assigned.status_code == 200
        assert assigned.json()["assignedLicenses"] == [{"skuId": SKU_ID, "disabledPlans": []}]
        refused = await sim.assign(second)
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == (
            f"Subscription with SKU {SKU_ID} does not have any available licenses.")
        sku = (await sim.graph("GET", "/subscribedSkus")).json()["value"][0]
        assert (sku["consumedUnits"], sku["prepaidUnits"]["enabled"]) == (1, 1)


async def test_proxy_addresses_cannot_be_written_through_graph() -> None:
    async with m365() as sim:
        user_id = (await sim.new_user("ann")).json()["id"]
        reply = await sim.graph("PATCH", f"/users/{user_id}",
                                {"proxyAddresses": ["smtp:a@contoso.onmicrosoft.com"]})
        assert reply.status_code == 403
        assert reply.json()["error"]["code"] == "Authorization_RequestDenied"


async def test_newer_mx_form_is_served_when_configured() -> None:
    dns = Dns()
    async with m365(config(knobs(mx_style=MxStyle.DANE), dns=dns)) as sim:
        await sim.graph("POST", "/domains", {"id": "contoso.com"})
        code = (await sim.graph("GET", "/domains/contoso.com/verificationDnsRecords")
                ).json()["value"][0]["text"]
        dns.txt["contoso.com"] = [code]
        await sim.graph("POST", "/domains/contoso.com/verify")
        await sim.graph("PATCH", "/domains/contoso.com", {"supportedServices": ["Email"]})
        records = (await sim.graph("GET", "/domains/contoso.com/serviceConfigurationRecords")
                   ).json()["value"]
        mx = next(r["mailExchange"] for r in records if r["recordType"] == "Mx")
        assert mx.startswith("contoso-com.") and mx.endswith(".mx.microsoft")


async def test_domain_verified_by_another_tenant_cannot_be_verified_here() -> None:
    dns = Dns()
    base = config(dns=dns)
    other = TenantConfig("9e9e9e9e-0000-4000-8000-000000000001", "fabrikam.onmicrosoft.com",
                         apps=base.tenants[0].apps)
    async with m365(replace(base, tenants=(*base.tenants, other))) as sim:
        their_token = (await sim.token(tenant="fabrikam.onmicrosoft.com")).json()
        theirs = {"Authorization": f"Bearer {their_token['access_token']}"}
        await sim.http.post("/v1.0/domains", json={"id": "shared.com"}, headers=theirs)
        code = (await sim.http.get("/v1.0/domains/shared.com/verificationDnsRecords",
                                   headers=theirs)).json()["value"][0]["text"]
        dns.txt["shared.com"] = [code]
        assert (await sim.http.post("/v1.0/domains/shared.com/verify",
                                    headers=theirs)).status_code == 200

        await sim.graph("POST", "/domains", {"id": "shared.com"})
        mine = (await sim.graph("GET", "/domains/shared.com/verificationDnsRecords")
                ).json()["value"][0]["text"]
        assert mine != code  # the TXT value is per tenant
        dns.txt["shared.com"].append(mine)
        refused = await sim.graph("POST", "/domains/shared.com/verify")
        assert refused.status_code == 400
        assert "another organization" in refused.json()["error"]["message"]


async def test_saved_tenant_is_restored_with_its_users_and_todays_licence_units(
        tmp_path: Path) -> None:
    path = tmp_path / "tenant-state.json"
    async with m365() as sim:
        user = (await sim.new_user("ann")).json()
        assert (await sim.assign(user["id"])).status_code == 200
        tenants = tuple(sim.tenants.values())
        persist.save(path, tenants)
    assert path.stat().st_mode & 0o077 == 0
    assert SECRET not in path.read_text()  # the admin app comes from the config, not here

    more = config(units=7)
    fresh = tuple(SimulatedTenant.from_config(t) for t in more.tenants)
    (restored,) = persist.restore(path, fresh)
    assert restored.user(f"ann@{INITIAL}") is not None
    sku = restored.skus[SKU_ID]
    assert (sku.config.enabled, sku.consumed) == (7, 1)
    assert restored.admin_apps == fresh[0].admin_apps

    path.write_text("{not json")
    with pytest.raises(InvalidInput, match="state: .* is not a saved local Microsoft 365"):
        persist.restore(path, fresh)
