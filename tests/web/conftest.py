"""Web fixtures: a store with two partners' orders, their accounts, and the portal app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from mailflip.store.repositories import SqlStore, create_store
from mailflip.web.app import portal_app
from mailflip.web.passwords import hash_password
from tests.store.conftest import make_state

PASSWORD = "correct horse battery"
ANN, BOB, SAM = "ann@acme.example", "bob@bravo.example", "sam@mailflip.example"
# Support signs in with a second factor (MFA is required for support): SAM's
# authenticator key, and recovery codes the helpers spend one per sign-in (a test signs
# in faster than TOTP codes change, and a code works once)
SAM_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SAM_CODES = [f"{i:05d}-test{i:01d}" for i in range(200)]
_spent: list[str] = []


def next_code() -> str:
    """A recovery code of SAM's not used yet in this process."""
    code = next(c for c in SAM_CODES if c not in _spent)
    _spent.append(code)
    return code


@pytest.fixture
def web_store(tmp_path) -> Iterator[SqlStore]:
    st = create_store(f"sqlite:///{tmp_path}/web.db", secret_key=Fernet.generate_key().decode())
    acme = make_state("o-acme")
    acme = replace(acme, spec=replace(acme.spec, partner="acme-msp"))
    bravo = make_state("o-bravo", users=2)
    bravo = replace(bravo, spec=replace(bravo.spec, partner="bravo-msp",
                                        customer="Bravo Foods"))
    st.record(acme, [])
    st.record(bravo, [])
    h = hash_password(PASSWORD)
    st.add_account(ANN, "partner", "acme-msp", h)
    st.add_account(BOB, "partner", "bravo-msp", h)
    st.add_account(SAM, "support", None, h)
    st.set_totp(SAM, SAM_TOTP, SAM_CODES)
    _spent.clear()
    yield st
    st.close()


@pytest.fixture
def client(web_store: SqlStore) -> Iterator[TestClient]:
    app = portal_app(web_store, "k" * 32, secure_cookies=False)
    with TestClient(app) as c:
        yield c


def sign_in(c: TestClient, email: str, password: str = PASSWORD) -> object:
    """Sign in through the form (and for SAM the code step, with a recovery code)."""
    c.get("/login")
    r = c.post("/login", data={"email": email, "password": password,
                               "csrf": c.cookies.get("mf_login_csrf")},
               follow_redirects=False)
    if r.status_code == 303 and r.headers["location"] == "/login/mfa":
        r = c.post("/login/mfa", data={"code": next_code(),
                                       "csrf": c.cookies.get("mf_login_csrf")},
                   follow_redirects=False)
    return r
