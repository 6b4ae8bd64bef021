"""The portal in Debian's Chromium (Playwright) on real order workflows: the wizard with
a users file that has bad rows, the order page following its order, the lock banner and
a refused change, an end user's wrong then right password, support releasing a hold and
rerunning a CTP. Temporal's time-skipping server moves time when a test says so; the
portal runs on uvicorn in the test's event loop, so the browser talks HTTP to it.
Screenshots (desktop and phone width) go to var/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailflip.simulate.world import WorldConfig
from mailflip.store.agents import GATHER
from mailflip.store.repositories import SqlStore
from tests.sync.dovecot import PASSWORD as SOURCE_PASSWORD
from tests.web.conftest import ANN, PASSWORD, SAM, next_code
from tests.web.live import SKU, demo_order, live_portal, served

from .test_portal_browser import CHROMIUM, PHONE, SHOTS

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is missing: `make test` installs it")]

USERS_CSV = ("name,source,target,sku\n"
             "Ann Lee,ann@contoso.example,ann@contoso.example,O365_BUSINESS_PREMIUM\n"
             "Bob Roy,bob@contoso.example,bob@elsewhere.example,O365_BUSINESS_PREMIUM\n"
             "Cat Wu,cat@contoso.example,cat@contoso.example,NOT_A_SKU\n")


async def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def close_pages(chromium: Any) -> None:
    """Before the portal stops: open pages hold live streams a server waits out."""
    for context in chromium.contexts:
        await context.close()


async def sign_in(page: Any, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    if email == SAM:  # support: the code step (a recovery code; conftest.next_code)
        await page.get_by_label("Code").fill(next_code())
        await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Orders").wait_for()


def local_input(at: datetime, zone: str = "Europe/London") -> str:
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


async def test_a_partner_creates_and_places_an_order_through_the_wizard(
        web_store: SqlStore, chromium: Any) -> None:
    from playwright.async_api import expect

    async with live_portal(web_store) as live, served(live) as base:
        page = await chromium.new_page()
        await sign_in(page, base, ANN)
        await page.get_by_role("link", name="New order").click()
        await page.get_by_label("Customer (company name)").fill("Contoso Ltd")
        await page.get_by_label("Name", exact=True).fill("Pat Doe")
        await page.get_by_label("Email", exact=True).fill("not-an-address")
        await page.get_by_label("Host").fill("mail.contoso.example")
        await page.get_by_label("Tenant's initial domain").fill("contoso.onmicrosoft.com")
        await page.get_by_label("Vanity domains").fill("contoso.example")
        await page.get_by_label("…or paste it").fill(USERS_CSV)
        await page.get_by_label("Customer's time zone").fill("Europe/London")
        await page.get_by_label("Cutover (the customer's time)").fill(
            local_input(live.now() + timedelta(days=3)))
        await page.get_by_role("button", name="Place order").click()

        # bad input: shown next to its field, the users file's problems next to their line
        await expect(page.locator("#e-poc_email")).to_contain_text("not an email address")
        lines = page.locator("#csv-lines tbody tr")
        await expect(lines.nth(2)).to_contain_text("outside the order's domains")
        await expect(lines.nth(3)).to_contain_text("unknown SKU")
        await expect(lines.nth(1).locator("td").nth(2)).to_have_text("")
        await shoot(page, "wizard-errors")
        assert web_store.list_orders(partner="acme-msp")[0].order_id == "o-acme"

        await page.get_by_label("Email", exact=True).fill("pat@contoso.example")
        await page.get_by_label("…or paste it").fill("\n".join(USERS_CSV.splitlines()[:2]))
        await page.get_by_role("button", name="Place order").click()
        await expect(page.locator("#done")).to_contain_text("Order placed")
        order_id = page.url.rsplit("/", 1)[1].split("?")[0]
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Contoso Ltd")
        current = page.locator("[aria-current=step]")
        await expect(current).not_to_have_text("Saved in Website")
        first = await current.inner_text()
        await shoot(page, "order-placed")

        await live.skip(timedelta(days=3, hours=1))  # past the cutover: the page follows
        await expect(current).not_to_have_text(first, timeout=20_000)
        await shoot(page, "order-advanced")
        phone = await chromium.new_page(viewport=PHONE)
        await sign_in(phone, base, ANN)
        await phone.goto(f"{base}/orders/{order_id}")
        await expect(phone.locator("#chart canvas").first).to_be_visible()  # uPlot drew
        await phone.locator("#chart").screenshot(path=str(SHOTS / "order-chart-phone.png"))
        await shoot(phone, "order-advanced-phone")
        await close_pages(chromium)
        audit = [a.action for a in web_store.audit_log(order_id)]
        assert audit[-2:] == ["place", "create"]


async def test_r_lock_4h_banner_and_a_partner_s_refused_change(
        web_store: SqlStore, chromium: Any) -> None:
    from playwright.async_api import expect

    async with live_portal(web_store) as live, served(live) as base:
        async with live.http(web_store.new_api_token(ANN, "t")[1]) as api:
            order_id = (await api.post("/api/orders", json=demo_order(cutover="+6h"))
                        ).json()["order_id"]
            assert (await api.post(f"/api/orders/{order_id}/place")).status_code == 200
        await live.skip(timedelta(hours=3))
        page = await chromium.new_page()
        await sign_in(page, base, ANN)
        await page.goto(f"{base}/orders/{order_id}")
        await expect(page.locator("#lock-banner")).to_be_visible()
        await page.get_by_label("New cutover (Europe/London)").fill(
            local_input(live.now() + timedelta(days=3)))
        await page.get_by_role("button", name="Change cutover").click()
        await expect(page.locator("#refused")).to_contain_text("Refused")
        await shoot(page, "order-locked")
        await close_pages(chromium)


async def test_an_end_user_gives_a_wrong_then_the_right_source_password(
        web_store: SqlStore, chromium: Any, dovecot: Any) -> None:
    from playwright.async_api import expect

    async with live_portal(web_store) as live, served(live) as base:
        async with live.http(web_store.new_api_token(ANN, "t")[1]) as api:
            order = demo_order(source={"kind": "imap", "host": dovecot.host,
                                       "admin_credentials": False})
            order_id = (await api.post("/api/orders", json=order)).json()["order_id"]
            assert (await api.put(f"/api/orders/{order_id}/credentials/source", json={
                "values": {"url": f"imap://{dovecot.host}:{dovecot.port}"}})).status_code == 200
        dovecot.add_user("ann@contoso.example")
        token = live.links.token(GATHER, order_id, "ann@contoso.example")
        web_store.register_tokens(GATHER, {(order_id, "ann@contoso.example"): token})

        page = await chromium.new_page(viewport=PHONE)
        await page.goto(f"{base}/u/{token}")
        await expect(page.locator("#moving-day")).to_contain_text("GMT")
        await page.get_by_label("Password for ann@contoso.example").fill("not it")
        await page.get_by_role("button", name="Check and save").click()
        await expect(page.locator("#pw-error")).to_contain_text("refused this password")
        await shoot(page, "enduser-wrong-password")
        await page.get_by_label("Password for ann@contoso.example").fill(SOURCE_PASSWORD)
        await page.get_by_role("button", name="Check and save").click()
        await expect(page.locator("#thanks")).to_be_visible()
        await shoot(page, "enduser-thanks")
        assert web_store.load_credentials(order_id, "user:ann@contoso.example") == {
            "password": SOURCE_PASSWORD}
        actions = [(a.actor, a.action) for a in web_store.audit_log(order_id)]
        assert ("end user ann@contoso.example", "user_ready") in actions
        assert (await page.goto(f"{base}/u/not-a-token")).status == 404
        await close_pages(chromium)


async def test_support_releases_a_hold_with_a_new_cutover_and_reruns_a_ctp(
        web_store: SqlStore, chromium: Any) -> None:
    from playwright.async_api import expect

    start = datetime.now(UTC)
    world = WorldConfig(licenses={SKU: 100},  # the TXT record is published late
                        txt_published_at={"contoso.example": start + timedelta(days=1,
                                                                                 hours=2)})
    async with live_portal(web_store, world) as live, served(live) as base:
        async with live.http(web_store.new_api_token(ANN, "t")[1]) as api:
            order_id = (await api.post("/api/orders", json=demo_order(cutover="+3d"))
                        ).json()["order_id"]
            assert (await api.post(f"/api/orders/{order_id}/place")).status_code == 200
        await live.skip(timedelta(days=1, hours=4))  # R-HOLD-48 held it; then it verified
        assert web_store.get_order(order_id).on_hold

        page = await chromium.new_page()
        await sign_in(page, base, SAM)
        await page.goto(f"{base}/orders/{order_id}")
        await expect(page.get_by_text("On hold:")).to_be_visible()
        await shoot(page, "order-on-hold-support")
        await page.get_by_label("New cutover (Europe/London, optional)").fill(
            local_input(live.now() + timedelta(days=3)))
        await page.get_by_role("button", name="Release hold").click()
        await expect(page.locator("#done")).to_have_text("Hold released.")
        await page.get_by_label("Background task", exact=True).select_option(
            "Setup Office 365 Account")
        await page.get_by_role("button", name="Rerun background task").click()
        await expect(page.locator("#done")).to_have_text("Background task rerun.")
        await page.goto(f"{base}/support")
        await expect(page.locator("#h-audit")).to_be_visible()
        await expect(page.get_by_role("cell", name="release_hold")).to_be_visible()
        await shoot(page, "support-console")
        await close_pages(chromium)
        assert not web_store.get_order(order_id).on_hold
