"""The portal in a real browser: Debian's Chromium driven by Playwright, against the
portal served by uvicorn over a store with two partners' orders. Screenshots of the
pages it visits (desktop and phone width) go to var/screenshots/ for people to look at."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailflip.domain.names import Status
from mailflip.localnet import free_port
from mailflip.store.repositories import SqlStore
from mailflip.web.app import portal_app
from mailflip.webserve import uvicorn_server
from tests.store.conftest import make_state
from tests.web.conftest import ANN, PASSWORD, SAM, next_code

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is missing: `make test` installs it")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def portal(web_store: SqlStore) -> Iterator[str]:
    port = free_port()
    ready = threading.Event()
    server = uvicorn_server(portal_app(web_store, "k" * 32, secure_cookies=False),
                            "127.0.0.1", port, on_ready=ready.set, log_level="warning",
                            signals=False)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert ready.wait(30), "the portal did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shoot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    if email == SAM and password == PASSWORD:  # support: the code step (a recovery code)
        page.get_by_label("Code").fill(next_code())  # type: ignore[attr-defined]
        page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def test_a_partner_signs_in_after_a_wrong_password_and_follows_the_order_live(
        portal: str, browser: object, web_store: SqlStore) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, portal, ANN, "not my password at all")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    shoot(page, "login-refused")
    sign_in(page, portal, ANN, PASSWORD)
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.get_by_role("link", name="o-acme")).to_be_visible()
    expect(page.get_by_text("o-bravo")).to_have_count(0)
    shoot(page, "orders")

    page.get_by_role("link", name="o-acme").click()
    current = page.locator("[aria-current=step]")
    expect(current).to_have_text("Initiating Vanity Domain Map")
    shoot(page, "order")
    # the worker moves the order on: the open page follows, without a reload
    state = make_state("o-acme")
    web_store.record(replace(state, spec=replace(state.spec, partner="acme-msp"),
                             status=Status.VERIFYING_VANITY, hold=None), [])
    expect(current).to_have_text("Verifying Vanity Domain Map", timeout=15_000)
    expect(page.get_by_text("On hold:")).to_have_count(0)

    phone = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
    sign_in(phone, portal, ANN, PASSWORD)
    phone.get_by_role("link", name="o-acme").click()
    expect(phone.locator("[aria-current=step]")).to_have_text("Verifying Vanity Domain Map")
    shoot(phone, "order-phone")


def test_partner_a_cannot_open_partner_b_s_order_in_the_browser_but_support_can(
        portal: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, portal, ANN, PASSWORD)
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    answer = page.goto(f"{portal}/orders/o-bravo")
    assert answer is not None and answer.status == 404
    expect(page.get_by_text("Bravo Foods")).to_have_count(0)

    support = browser.new_page()  # type: ignore[attr-defined]
    sign_in(support, portal, SAM, PASSWORD)
    expect(support.get_by_role("link", name="o-bravo")).to_be_visible()
    shoot(support, "orders-support")


def test_the_api_docs_render_from_the_portal_s_own_files_under_its_csp(
        portal: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()  # type: ignore[attr-defined]
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: blocked.append(r.url)  # type: ignore[attr-defined]
            if not r.url.startswith(portal) else None)
    sign_in(page, portal, ANN, PASSWORD)
    page.goto(f"{portal}/docs")  # type: ignore[attr-defined]
    expect(page.get_by_text("/api/orders/{order_id}/cutover")).to_be_visible(timeout=15_000)
    shoot(page, "api-docs")
    assert blocked == []


def test_asvs_6_3_3_a_new_support_account_sets_up_mfa_in_the_browser_then_signs_in_with_it(
        portal: str, browser: object, web_store: SqlStore) -> None:
    import re
    import time

    import pyotp
    from playwright.sync_api import expect

    from mailflip.web.passwords import hash_password

    web_store.add_account("new@mailflip.example", "support", None, hash_password(PASSWORD))
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, portal, "new@mailflip.example", PASSWORD)
    expect(page.locator("#security-note")).to_contain_text("must use multi-factor")
    page.goto(f"{portal}/orders")  # nothing else until it is set up
    expect(page).to_have_url(re.compile(r"/account/security$"))
    page.locator("#pw-start").fill(PASSWORD)
    page.get_by_role("button", name="Set up").click()
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    expect(page.get_by_role("img", name="QR code of the key")).to_be_visible()
    shoot(page, "mfa-setup")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shoot(page, "mfa-recovery-codes")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, portal, "new@mailflip.example", PASSWORD)
    expect(page.get_by_role("heading", name="Sign-in code")).to_be_visible()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#mfa-error")).to_contain_text("wrong")
    # the next step's code (one step of drift is allowed): the set-up spent this one
    page.get_by_label("Code").fill(pyotp.TOTP(key).at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    page.goto(f"{portal}/account/security")
    expect(page.locator("#sessions tr[aria-current=true]")).to_have_count(1)
    shoot(page, "account-security")
