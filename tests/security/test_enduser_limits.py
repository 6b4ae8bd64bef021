"""ASVS 6.3.1 / 14.2.1: the end-user page's password check against the source host is
limited per link (5 wrong passwords, then 15 minutes), even against the right one, and
what is typed is never shown back; the link carries a token, not a password."""

from __future__ import annotations

import re
from typing import Any

from mailflip.store.agents import GATHER
from mailflip.store.repositories import SqlStore
from tests.sync.dovecot import PASSWORD as SOURCE_PASSWORD
from tests.web.conftest import ANN
from tests.web.live import demo_order, live_portal


async def test_asvs_6_3_1_the_end_user_page_stops_after_five_wrong_passwords(
        web_store: SqlStore, dovecot: Any) -> None:
    async with live_portal(web_store) as live:
        async with live.http(web_store.new_api_token(ANN, "t")[1]) as api:
            order = demo_order(source={"kind": "imap", "host": dovecot.host,
                                       "admin_credentials": False})
            order_id = (await api.post("/api/orders", json=order)).json()["order_id"]
            await api.put(f"/api/orders/{order_id}/credentials/source", json={
                "values": {"url": f"imap://{dovecot.host}:{dovecot.port}"}})
        dovecot.add_user("ann@contoso.example")
        token = live.links.token(GATHER, order_id, "ann@contoso.example")
        web_store.register_tokens(GATHER, {(order_id, "ann@contoso.example"): token})
        assert SOURCE_PASSWORD not in token

        async with live.http() as enduser:
            form = (await enduser.get(f"/u/{token}")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)[1]
            wrong = [await enduser.post(f"/u/{token}", data={
                "csrf": csrf, "password": f"guess-number-{i}"}) for i in range(5)]
            right = await enduser.post(f"/u/{token}", data={
                "csrf": csrf, "password": SOURCE_PASSWORD})

        assert [r.status_code for r in wrong] == [422] * 5
        assert all("guess-number" not in r.text for r in wrong)  # never echoed
        assert right.status_code == 429 and "Too many wrong passwords" in right.text
        assert not [c for c in web_store.audit_log(order_id) if c.action == "user_ready"]
