"""ASVS 6.2, 6.3, 6.5, 7.1-7.5: portal passwords, multi-factor sign-in (TOTP), and
sessions: timeouts, new ids, ending them, re-authentication. Over HTTP against the
portal app, with the store's and the portal's clock moved by the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from mailflip.errors import InvalidInput
from mailflip.store.repositories import SqlStore, create_store
from mailflip.web.app import portal_app
from mailflip.web.passwords import hash_password

PASSWORD = "violet kettle drums 1987"
PAT, SUE = "pat@acme.example", "sue@mailflip.example"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def skip(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock: Clock) -> Iterator[SqlStore]:
    st = create_store(f"sqlite:///{tmp_path}/s.db", secret_key=Fernet.generate_key().decode(),
                      clock=clock)
    st.add_account(PAT, "partner", "acme-msp", hash_password(PASSWORD))
    st.add_account(SUE, "support", None, hash_password(PASSWORD))
    yield st
    st.close()


def browser(store: SqlStore, clock: Clock) -> TestClient:
    return TestClient(portal_app(store, "k" * 32, secure_cookies=False, clock=clock))


@pytest.fixture
def web(store: SqlStore, clock: Clock) -> Iterator[TestClient]:
    with browser(store, clock) as c:
        yield c


def password_step(c: TestClient, email: str, password: str = PASSWORD):
    c.get("/login")
    return c.post("/login", data={"email": email, "password": password,
                                  "csrf": c.cookies.get("mf_login_csrf")},
                  follow_redirects=False)


def code_step(c: TestClient, code: str):
    return c.post("/login/mfa", data={"code": code, "csrf": c.cookies.get("mf_login_csrf")},
                  follow_redirects=False)


def csrf(c: TestClient, path: str = "/account/security") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)[1]


def enrol(c: TestClient, clock: Clock) -> tuple[str, list[str]]:
    """Set up TOTP through the page, as a user would: (the key, the recovery codes)."""
    started = c.post("/account/mfa/start", data={"csrf": csrf(c), "current_password": PASSWORD})
    assert started.status_code == 200, started.text
    key = re.search(r'id="totp-key">([A-Z2-7 ]+)<', started.text)[1].replace(" ", "")
    sealed = re.search(r'name="sealed" value="([^"]+)"', started.text)[1]
    done = c.post("/account/mfa/confirm", data={
        "csrf": csrf(c), "sealed": sealed, "code": pyotp.TOTP(key).at(clock())})
    assert "Multi-factor sign-in is on." in done.text, done.text
    return key, re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.text)


def test_asvs_6_3_3_support_must_set_up_mfa_before_reaching_anything(
        web: TestClient) -> None:
    r = password_step(web, SUE)
    assert r.status_code == 303  # no code asked yet: there is no factor to ask for

    assert web.get("/orders", follow_redirects=False).headers["location"] == \
        "/account/security"
    assert web.get("/api/orders").status_code == 403
    page = web.get("/account/security")
    assert "must use multi-factor sign-in" in page.text


def test_asvs_6_3_3_a_partner_policy_requires_mfa_for_its_accounts(
        web: TestClient, store: SqlStore) -> None:
    password_step(web, PAT)
    assert web.get("/orders", follow_redirects=False).status_code == 200

    store.set_partner_policy("acme-msp", True)

    assert web.get("/orders", follow_redirects=False).headers["location"] == \
        "/account/security"


def test_asvs_6_5_totp_sign_in_takes_the_code_once_and_refuses_a_wrong_one(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    password_step(web, SUE)
    key, _ = enrol(web, clock)
    assert store.totp_secret(SUE) == key
    assert key not in str(store.engine.connect().exec_driver_sql(
        "select totp_secret from accounts").all())  # encrypted at rest
    with browser(store, clock) as other:
        clock.skip(seconds=60)
        r = password_step(other, SUE)
        assert r.headers["location"] == "/login/mfa"
        assert other.get("/orders", follow_redirects=False).headers["location"] == "/login"
        assert code_step(other, "000000").status_code == 401
        code = pyotp.TOTP(key).at(clock())
        assert code_step(other, code).status_code == 303
        assert other.get("/orders").status_code == 200
    with browser(store, clock) as third:
        password_step(third, SUE)
        assert code_step(third, code).status_code == 401  # the same code: used already


def test_asvs_6_5_1_recovery_codes_are_shown_once_kept_hashed_and_work_once(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    password_step(web, SUE)
    _, codes = enrol(web, clock)
    assert len(codes) == 10
    kept = str(store.engine.connect().exec_driver_sql(
        "select recovery_codes from accounts").all())
    assert not any(c in kept or c.replace("-", "") in kept for c in codes)
    assert codes[0] not in web.get("/account/security").text  # shown that once

    for attempt in (200, 401):
        with browser(store, clock) as c:
            password_step(c, SUE)
            assert code_step(c, codes[0]).status_code == (303 if attempt == 200 else 401)


def test_asvs_6_3_1_wrong_codes_stop_codes_for_a_while_then_they_work_again(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    password_step(web, SUE)
    key, _ = enrol(web, clock)
    with browser(store, clock) as c:
        password_step(c, SUE)
        for _ in range(5):
            assert code_step(c, "123456").status_code == 401
        clock.skip(seconds=31)
        assert code_step(c, pyotp.TOTP(key).at(clock())).status_code == 423
        clock.skip(minutes=15)
        password_step(c, SUE)
        assert code_step(c, pyotp.TOTP(key).at(clock())).status_code == 303


def test_asvs_7_2_4_a_new_session_id_at_every_sign_in(web: TestClient) -> None:
    password_step(web, PAT)
    first = web.cookies["mf_session"]
    password_step(web, PAT)
    assert web.cookies["mf_session"] != first


def test_asvs_7_3_1_idle_timeout_ends_session(web: TestClient, store: SqlStore,
                                              clock: Clock) -> None:
    password_step(web, PAT)
    clock.skip(minutes=29)
    assert web.get("/orders", follow_redirects=False).status_code == 200
    clock.skip(minutes=31)

    assert web.get("/orders", follow_redirects=False).headers["location"] == "/login"
    assert store.sessions_of(PAT) == []  # ended on the server, not just forgotten


def test_asvs_7_3_2_absolute_lifetime_ends_a_busy_session(web: TestClient, store: SqlStore,
                                                          clock: Clock) -> None:
    password_step(web, PAT)
    for _ in range(35):  # used every 20 minutes for 11 h 40 min
        clock.skip(minutes=20)
        assert web.get("/orders", follow_redirects=False).status_code == 200
    clock.skip(minutes=21)

    assert web.get("/orders", follow_redirects=False).headers["location"] == "/login"


def test_asvs_7_3_the_timeouts_are_settings(store: SqlStore, clock: Clock) -> None:
    app = portal_app(store, "k" * 32, secure_cookies=False, clock=clock,
                     sessions=(timedelta(minutes=5), timedelta(hours=1)))
    with TestClient(app) as c:
        password_step(c, PAT)
        clock.skip(minutes=6)
        assert c.get("/orders", follow_redirects=False).headers["location"] == "/login"


def test_asvs_7_4_1_sign_out_ends_the_session_on_the_server(web: TestClient,
                                                            store: SqlStore) -> None:
    password_step(web, PAT)
    cookie = web.cookies["mf_session"]
    web.post("/logout", data={"csrf": csrf(web, "/orders")})
    web.cookies.set("mf_session", cookie)  # a copy kept by a thief

    assert web.get("/orders", follow_redirects=False).headers["location"] == "/login"
    assert store.sessions_of(PAT) == []


def test_asvs_7_4_3_a_new_password_ends_every_other_session(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    with browser(store, clock) as laptop:
        password_step(laptop, PAT)
        password_step(web, PAT)
        changed = web.post("/account/password", data={
            "csrf": csrf(web), "current_password": PASSWORD,
            "new_password": "amber lantern quietly 42", "confirm_password":
                "amber lantern quietly 42"})

        assert changed.status_code == 200 and "Where you are signed in" in changed.text
        assert laptop.get("/orders", follow_redirects=False).headers["location"] == "/login"
        assert len(store.sessions_of(PAT)) == 1  # this browser's new session


def test_asvs_7_5_1_changing_password_or_mfa_asks_for_the_current_password(
        web: TestClient, store: SqlStore) -> None:
    password_step(web, PAT)
    token = csrf(web)
    wrong = {"csrf": token, "current_password": "not it at all"}

    for path, extra in (("/account/password", {"new_password": "amber lantern quietly 42",
                                               "confirm_password": "amber lantern quietly 42"}),
                        ("/account/mfa/start", {})):
        r = web.post(path, data=wrong | extra)
        assert r.status_code == 422 and "not your current password" in r.text
    assert store.totp_secret(PAT) is None
    assert "reauth_refused" in [e.action for e in store.audit_log()]


def test_asvs_7_5_2_a_user_sees_their_sessions_and_ends_one(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    with browser(store, clock) as phone:
        password_step(phone, PAT)
        password_step(web, PAT)
        page = web.get("/account/security").text
        ids = re.findall(r'name="session" value="([0-9a-f]{12})"', page)
        assert len(ids) == 2 and "(this one)" in page and "testclient" in page
        mine = re.search(r"<code>([0-9a-f]{12})</code> \(this one\)", page)[1]
        theirs = next(i for i in ids if i != mine)

        web.post("/account/sessions/end", data={"csrf": csrf(web), "session": theirs})

        assert phone.get("/orders", follow_redirects=False).headers["location"] == "/login"
        assert web.get("/orders", follow_redirects=False).status_code == 200


def test_asvs_7_4_5_support_ends_any_user_s_sessions(
        web: TestClient, store: SqlStore, clock: Clock) -> None:
    with browser(store, clock) as pat:
        password_step(pat, PAT)
        password_step(web, SUE)
        enrol(web, clock)

        assert PAT in web.get("/support/accounts").text
        web.post(f"/support/accounts/{PAT}/end-sessions", data={"csrf": csrf(web)})

        assert pat.get("/orders", follow_redirects=False).headers["location"] == "/login"
        password_step(pat, PAT)
        refused = pat.post(f"/support/accounts/{SUE}/end-sessions",
                           data={"csrf": csrf(pat, "/orders")}, follow_redirects=False)
        assert refused.status_code == 403 and store.sessions_of(SUE)


@pytest.mark.parametrize("password", ["password1234", "qwertyuiop12", "iloveyou1234",
                                      "letmeinletmein", "Password1234!"])
def test_asvs_6_2_4_common_and_guessable_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput, match="too easy to guess") as refused:
        hash_password(password, email=PAT)
    assert refused.value.field == "password"


def test_asvs_6_2_1_short_passwords_are_refused_and_long_phrases_taken() -> None:
    with pytest.raises(InvalidInput, match="12 characters"):
        hash_password("Xq7!zR2#a")
    assert hash_password("violet kettle drums 1987").startswith("$argon2id$")
