"""The REST API's actions on real order workflows (time-skipping server, simulated
world): each is the workflow's Update, refused as SPEC.md says with its reason, and
written to the audit log with the order before and the change after."""

from __future__ import annotations

import json
from datetime import timedelta

from mailflip.simulate.world import WorldConfig
from mailflip.store.repositories import SqlStore
from tests.web.conftest import ANN, BOB, PASSWORD, SAM
from tests.web.live import SKU, demo_order, live_portal


def token_for(store: SqlStore, email: str) -> str:
    return store.new_api_token(email, "tests")[1]


async def test_api_creates_places_and_audits_an_order(web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, live.http(token_for(web_store, ANN)) as api:
        made = await api.post("/api/orders", json=demo_order())
        assert made.status_code == 201, made.text
        order_id = made.json()["order_id"]
        detail = (await api.get(f"/api/orders/{order_id}")).json()
        assert (detail["status"], detail["partner"]) == ("Saved in Website", "acme-msp")

        placed = await api.post(f"/api/orders/{order_id}/place")
        assert placed.status_code == 200, placed.text
        assert placed.json()["accepted"] is True

        again = await api.post(f"/api/orders/{order_id}/place")
        assert again.status_code == 409 and again.json()["error"]

        audit = (await api.get(f"/api/orders/{order_id}/audit")).json()
        assert [a["action"] for a in audit] == ["place", "place", "create"]
        refused, accepted, created = audit
        assert accepted["actor"] == ANN and accepted["before"]["status"] == "Saved in Website"
        assert accepted["after"]["status"] != "Saved in Website"
        assert refused["after"]["refused"] == again.json()["error"]
        assert created["after"]["users"] == 2


async def test_api_bad_input_names_the_field_and_creates_nothing(web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, live.http(token_for(web_store, ANN)) as api:
        bad = await api.post("/api/orders", json=demo_order(cutover="+2h"))
        assert bad.status_code == 422
        assert bad.json()["field"] == "order.cutover"
        other = await api.post("/api/orders", json=demo_order(partner="bravo-msp"))
        assert (other.status_code, other.json()["field"]) == (422, "order.partner")
        listed = (await api.get("/api/orders")).json()["orders"]
        assert [o["order_id"] for o in listed] == ["o-acme"]
        assert web_store.audit_log() == []


async def test_r_lock_4h_refuses_a_partner_with_the_reason_and_lets_support_act(
        web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, \
            live.http(token_for(web_store, ANN)) as partner, \
            live.http(token_for(web_store, SAM)) as support:
        order_id = (await partner.post("/api/orders", json=demo_order(cutover="+6h"))
                    ).json()["order_id"]
        assert (await partner.post(f"/api/orders/{order_id}/place")).status_code == 200
        await live.skip(timedelta(hours=3))  # now 3 h before the cutover: locked

        refused = await partner.post(f"/api/orders/{order_id}/cutover",
                                     json={"cutover": "+3d"})
        assert refused.status_code == 409, refused.text
        assert "4 h" in refused.json()["error"] or "lock" in refused.json()["error"].lower()

        moved = await support.post(f"/api/orders/{order_id}/cutover", json={"cutover": "+3d"})
        assert moved.status_code == 200, moved.text


async def test_credentials_are_write_only_and_logged_by_field_name(
        web_store: SqlStore) -> None:
    secret = "s3cret-client-value-9f8e"
    async with live_portal(web_store) as live, live.http(token_for(web_store, ANN)) as api:
        order_id = (await api.post("/api/orders", json=demo_order())).json()["order_id"]
        put = await api.put(f"/api/orders/{order_id}/credentials/tenant", json={"values": {
            "tenant_id": "t-1", "client_id": "c-1", "client_secret": secret}})
        assert put.status_code == 200, put.text
        assert web_store.load_credentials(order_id, "tenant")["client_secret"] == secret
        shown = (await api.get(f"/api/orders/{order_id}")).text + \
            (await api.get(f"/api/orders/{order_id}/audit")).text
        assert secret not in shown
        [entry] = [a for a in web_store.audit_log(order_id) if a.action == "credentials_tenant"]
        assert entry.after is not None
        assert entry.after["fields"] == ["client_id", "client_secret", "tenant_id"]

        bad = await api.put(f"/api/orders/{order_id}/credentials/tenant",
                            json={"values": {"tenant_id": ""}})
        assert (bad.status_code, bad.json()["field"]) == (422, "values")


async def test_users_csv_import_reports_every_bad_row_by_line_and_column(
        web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, live.http(token_for(web_store, ANN)) as api:
        order_id = (await api.post("/api/orders", json=demo_order())).json()["order_id"]
        csv = ("name,source,target,sku\n"
               "Cat Wu,cat@contoso.example,cat@contoso.example,O365_BUSINESS_PREMIUM\n"
               "Dan,dan@contoso.example,dan@elsewhere.example,O365_BUSINESS_PREMIUM\n"
               "Eve,eve@contoso.example,eve@contoso.example,NO_SUCH_SKU\n"
               "Ann again,ann@contoso.example,ann2@contoso.example,O365_BUSINESS_PREMIUM\n")
        bad = await api.post(f"/api/orders/{order_id}/users/import", content=csv,
                             headers={"Content-Type": "text/csv"})
        assert bad.status_code == 422, bad.text
        assert [(r["line"], r["column"]) for r in bad.json()["rows"]] == [
            (3, "target"), (4, "sku"), (5, "source")]
        assert {m.address for m in web_store.mailboxes(order_id)} == {
            "ann@contoso.example", "bob@contoso.example", "info@contoso.example"}

        good = await api.post(f"/api/orders/{order_id}/users/import",
                              content="\n".join(csv.splitlines()[:2]) + "\n",
                              headers={"Content-Type": "text/csv"})
        assert good.status_code == 200 and good.json() == {"accepted": True, "refused": []}
        assert any(a.action == "add_user" and a.after and a.after["user"] ==
                   "cat@contoso.example" for a in web_store.audit_log(order_id))


async def test_support_only_actions_refuse_partners(web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, live.http(token_for(web_store, ANN)) as api:
        order_id = (await api.post("/api/orders", json=demo_order())).json()["order_id"]
        for path, body in (("release-hold", {}), ("rerun-ctp", {"ctp": "Create Mailboxes"}),
                           ("rerun-sync", {"mailbox": "ann@contoso.example"}),
                           ("resolve-task", {"code": "sync_failed", "reason": "x"})):
            r = await api.post(f"/api/orders/{order_id}/{path}", json=body)
            assert r.status_code == 403, (path, r.text)
        assert (await api.get("/api/alerts")).status_code == 403
        assert (await api.get("/api/audit")).status_code == 403


async def test_an_api_token_is_shown_once_stored_hashed_and_revocable(
        web_store: SqlStore) -> None:
    async with live_portal(web_store) as live, live.http(token_for(web_store, BOB)) as api:
        made = (await api.post("/api/tokens", json={"name": "billing"})).json()
        token = made["token"]
        listed = (await api.get("/api/tokens")).json()
        assert token not in json.dumps(listed) and "billing" in json.dumps(listed)
        with web_store.engine.connect() as conn:
            dump = "\n".join(str(r) for r in conn.exec_driver_sql("select * from api_tokens"))
        assert token not in dump
        async with live.http(token) as other:
            assert (await other.get("/api/orders")).status_code == 200
            assert (await api.delete(f"/api/tokens/{made['id']}")).status_code == 204
            assert (await other.get("/api/orders")).status_code == 401


async def test_the_order_page_shows_the_txt_value_the_tenant_gave(web_store: SqlStore) -> None:
    world = WorldConfig(licenses={SKU: 100})  # the domain is not verified yet
    async with live_portal(web_store, world) as live, \
            live.http(token_for(web_store, ANN)) as api:
        order_id = (await api.post("/api/orders", json=demo_order())).json()["order_id"]
        assert (await api.post(f"/api/orders/{order_id}/place")).status_code == 200
        await live.skip(timedelta(minutes=30))  # Setup, then Initiating Vanity Domain Map
        [value] = web_store.domain_txt(order_id)["contoso.example"]
        assert value.startswith("MS=ms")
        async with live.http() as browser:
            await browser.get("/login")
            await browser.post("/login", data={"email": ANN, "password": PASSWORD,
                                               "csrf": browser.cookies.get("mf_login_csrf")})
            page = (await browser.get(f"/orders/{order_id}")).text
        assert f'data-copy="{value}"' in page
