"""The portal over HTTP (FastAPI's test client): signing in, partner isolation, the
order page and its live stream, and the safety every page carries."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from mailflip.store.repositories import SqlStore
from tests.web.conftest import ANN, BOB, SAM, sign_in


def test_a_wrong_password_is_refused_and_the_right_one_lands_on_the_orders(
        client: TestClient) -> None:
    wrong = sign_in(client, ANN, "not the password at all")
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    assert "mf_session" not in client.cookies
    right = sign_in(client, ANN)
    assert right.status_code == 303 and right.headers["location"] == "/orders"
    page = client.get("/orders")
    assert page.status_code == 200 and "o-acme" in page.text


def test_an_unknown_account_gets_the_same_answer_as_a_wrong_password(
        client: TestClient) -> None:
    r = sign_in(client, "nobody@nowhere.example")
    assert r.status_code == 401 and "Wrong email or password." in r.text


def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/orders", "/orders/o-acme", "/orders/o-acme/live"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    assert client.get("/api/orders").status_code == 401


def test_partner_a_sees_only_its_orders_and_partner_b_s_are_not_found(
        client: TestClient) -> None:
    sign_in(client, ANN)
    listing = client.get("/orders").text
    assert "o-acme" in listing and "o-bravo" not in listing
    assert [o["order_id"] for o in client.get("/api/orders").json()["orders"]] == ["o-acme"]
    for path in ("/orders/o-bravo", "/orders/o-bravo/live", "/orders/o-bravo/events",
                 "/api/orders/o-bravo", "/orders/o-none"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Bravo" not in r.text, path


def test_support_sees_every_partner_s_orders(client: TestClient) -> None:
    sign_in(client, SAM)
    listing = client.get("/orders").text
    assert "o-acme" in listing and "o-bravo" in listing and "bravo-msp" in listing
    assert client.get("/orders/o-bravo").status_code == 200


def test_the_order_page_shows_the_ten_statuses_with_the_current_one_and_the_order(
        client: TestClient) -> None:
    sign_in(client, ANN)
    html = client.get("/orders/o-acme").text
    steps = re.findall(r"<li class=\"(done|current|)\"", html)
    assert len(steps) == 10 and steps.index("current") == 2  # S3 Initiating Vanity Domain
    assert 'aria-current="step">Initiating Vanity Domain Map' in html
    assert "On hold: vanity_domain_unverified" in html
    assert "u0@contoso.example" in html and "mailbox_failed" in html
    assert "Europe/Paris" not in html and "CET" in html  # the customer's local time


def test_c_4h_the_lock_banner_shows_from_four_hours_before_cutover(
        web_store: SqlStore) -> None:
    from mailflip.web.app import portal_app

    cutover = web_store.get_order("o-acme").cutover
    for before, shown in ((timedelta(hours=5), False), (timedelta(hours=3), True)):
        app = portal_app(web_store, "k" * 32, secure_cookies=False,
                         clock=lambda b=before: cutover - b)
        with TestClient(app) as c:
            sign_in(c, ANN)
            assert ("R-LOCK-4H" in c.get("/orders/o-acme").text) is shown


def test_the_live_stream_sends_the_rendered_order(client: TestClient) -> None:
    sign_in(client, ANN)
    with client.stream("GET", "/orders/o-acme/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line == "" and len(lines) > 1:
                break
    assert lines[0] == "event: order"
    assert any("Initiating Vanity Domain Map" in x for x in lines[1:])


def test_asvs_3_4_every_page_carries_a_csp_without_inline_script_and_no_store(
        client: TestClient) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and "onclick" not in r.text


def test_asvs_3_3_1_the_session_cookie_is_httponly_samesite_and_secure_by_default(
        web_store: SqlStore) -> None:
    from mailflip.web.app import portal_app

    with TestClient(portal_app(web_store, "k" * 32), base_url="https://testserver") as c:
        r = sign_in(c, ANN)
        cookie = r.headers["set-cookie"].lower()
        assert "mf_session=" in cookie and "httponly" in cookie
        assert "samesite=strict" in cookie and "secure" in cookie


def test_asvs_3_5_1_a_form_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"email": ANN, "password": "x", "csrf": "forged"})
    assert r.status_code == 403
    sign_in(client, ANN)
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/orders").status_code == 200  # still signed in


def test_sign_out_ends_the_session_on_the_server(client: TestClient,
                                                 web_store: SqlStore) -> None:
    sign_in(client, ANN)
    token = client.cookies.get("mf_session")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/orders").text)[1]
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False
                       ).status_code == 303
    assert web_store.session_count(ANN) == 0
    client.cookies.set("mf_session", token)  # the old cookie, replayed
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_asvs_6_3_1_five_wrong_passwords_lock_the_account_for_15_minutes(
        client: TestClient, web_store: SqlStore) -> None:
    for _ in range(5):
        assert sign_in(client, BOB, "wrong wrong wrong").status_code == 401
    locked = sign_in(client, BOB)
    assert locked.status_code == 423 and "locked" in locked.text
    assert web_store.session_count(BOB) == 0
    assert [e.action for e in web_store.audit_log()].count("sign_in") == 0


def test_asvs_6_1_1_many_failures_from_one_address_slow_it_down(client: TestClient) -> None:
    for i in range(20):
        sign_in(client, f"guess{i}@nowhere.example", "wrong wrong wrong")
    assert sign_in(client, ANN).status_code == 429


def test_a_successful_sign_in_is_audited(client: TestClient, web_store: SqlStore) -> None:
    sign_in(client, ANN)
    assert [(e.actor, e.action) for e in web_store.audit_log()] == [(ANN, "sign_in")]


def test_the_openapi_schema_lists_the_json_routes_and_no_page_loads_a_cdn_script(
        client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/orders", "/api/orders/{order_id}"} <= set(paths)
    assert not [p for p in paths if not p.startswith(("/api/", "/healthz"))]  # no page
    docs = client.get("/docs")  # Swagger UI from static/vendor (`make install`)
    assert docs.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', docs.text)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_sign_in_goes_on_to_the_page_asked_for_on_this_site_only(client: TestClient) -> None:
    for asked, lands in (("/orders/o-acme", "/orders/o-acme"), ("//evil.example/x", "/orders"),
                         ("https://evil.example/", "/orders")):
        client.cookies.clear()
        client.get("/login", params={"next": asked})
        r = client.post("/login", data={"email": ANN, "password": "correct horse battery",
                                        "csrf": client.cookies.get("mf_login_csrf"),
                                        "next": asked}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, lands)


def test_the_order_page_lists_the_dns_records_to_publish_with_copy_buttons(
        client: TestClient, web_store: SqlStore) -> None:
    sign_in(client, ANN)
    html = client.get("/orders/o-acme").text
    assert "contoso.example" in html and "not verified yet" in html
    assert "TXT record to publish comes once" in html  # the tenant has not given it yet
    web_store.save_domain_txt("o-acme", {"contoso.example": ["MS=ms424242"]})
    html = client.get("/orders/o-acme").text
    assert 'data-copy="MS=ms424242"' in html and "publish the TXT record below" in html
    assert 'data-copy="contoso-example.mail.protection.outlook.com."' in html
    assert 'data-copy="v=spf1 include:spf.protection.outlook.com -all"' in html


def test_partner_a_gets_not_found_from_every_page_of_partner_b_s_order(
        client: TestClient, web_store: SqlStore) -> None:
    sign_in(client, ANN)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/orders").text)
    assert csrf is not None
    before = web_store.get_order("o-bravo")
    gets = ["/orders/o-bravo", "/orders/o-bravo/live", "/orders/o-bravo/events",
            "/orders/o-bravo/report.html", "/orders/o-bravo/report.csv"]
    posts = [f"/orders/o-bravo/do/{name}" for name in (
        "place", "cutover", "cancel", "add_user", "remove_user", "settings", "release_hold",
        "rerun_ctp", "rerun_sync", "resolve_task", "credentials_tenant", "import")]
    for path in gets:
        r = client.get(path)
        assert r.status_code == 404 and "Bravo" not in r.text, path
    for path in posts:
        r = client.post(path, data={"csrf": csrf.group(1), "cutover": "+3d"})
        assert r.status_code == 404 and "Bravo" not in r.text, path
    assert web_store.get_order("o-bravo") == before
