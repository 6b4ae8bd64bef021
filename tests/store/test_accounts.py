"""Portal accounts, sessions and the audit log in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailflip.domain.names import Role
from mailflip.errors import InvalidInput
from mailflip.store.repositories import SqlStore

IDLE, LIFE = timedelta(minutes=30), timedelta(hours=12)


def test_an_account_is_stored_with_its_hash_and_its_partner(store: SqlStore) -> None:
    a = store.add_account(" Ann@Acme.example ", "partner", "acme-msp", "$argon2id$x")
    assert (a.email, a.role, a.partner) == ("ann@acme.example", Role.PARTNER, "acme-msp")
    assert store.account("ANN@acme.example") == a
    assert a.sees("acme-msp") and not a.sees("other-msp")
    s = store.add_account("sam@mailflip.example", Role.SUPPORT, None, "$argon2id$y")
    assert s.sees("acme-msp") and s.sees("other-msp")
    assert [x.email for x in store.accounts()] == ["ann@acme.example", "sam@mailflip.example"]


@pytest.mark.parametrize(("email", "role", "partner", "field"), [
    ("not-an-email", "partner", "acme", "email"),
    ("a@b.example", "admin", "acme", "role"),
    ("a@b.example", "partner", "", "partner"),
    ("a@b.example", "support", "acme", "partner"),
])
def test_bad_account_input_names_the_field_and_changes_nothing(
        store: SqlStore, email: str, role: str, partner: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        store.add_account(email, role, partner, "h")
    assert err.value.field == field
    assert store.accounts() == []


def test_the_same_email_twice_is_refused(store: SqlStore) -> None:
    store.add_account("ann@acme.example", "partner", "acme", "h1")
    with pytest.raises(InvalidInput, match="exists already"):
        store.add_account("ANN@acme.example", "partner", "acme", "h2")
    assert store.account("ann@acme.example").password_hash == "h1"


def test_failed_logins_lock_the_account_then_a_new_password_lifts_it(store: SqlStore) -> None:
    store.add_account("ann@acme.example", "partner", "acme", "h1")
    for _ in range(4):
        store.login_failed("ann@acme.example", 5, timedelta(minutes=15))
    assert store.account("ann@acme.example").locked_until is None
    store.login_failed("ann@acme.example", 5, timedelta(minutes=15))
    locked = store.account("ann@acme.example")
    assert locked.locked_until is not None and locked.failed_logins == 0
    store.set_password("ann@acme.example", "h2")
    assert store.account("ann@acme.example").locked_until is None


def test_sessions_end_when_idle_too_long_when_too_old_and_on_a_new_password(
        database_url: str, secret_key: str) -> None:
    from mailflip.store.repositories import create_store

    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    st = create_store(database_url, secret_key=secret_key, clock=lambda: now[0])
    try:
        st.add_account("ann@acme.example", "partner", "acme", "h")
        st.open_session("s1", "ann@acme.example")
        now[0] += timedelta(minutes=29)
        assert st.session("s1", IDLE, LIFE).email == "ann@acme.example"
        now[0] += timedelta(minutes=31)
        assert st.session("s1", IDLE, LIFE) is None  # idle 31 minutes: ended
        assert st.session("s1", IDLE, LIFE) is None

        st.open_session("s2", "ann@acme.example")
        for _ in range(25):  # used every 29 minutes, for more than 12 hours
            now[0] += timedelta(minutes=29)
            alive = st.session("s2", IDLE, LIFE)
        assert alive is None

        st.open_session("s4", "ann@acme.example")  # only a live page's stream looks
        for _ in range(3):
            now[0] += timedelta(minutes=20)
            st.session("s4", IDLE, LIFE, touch=False)
        assert st.session("s4", IDLE, LIFE) is None  # idle all the same

        st.open_session("s5", "ann@acme.example")  # a use is written at most every 30 s
        opened = now[0]
        now[0] += timedelta(seconds=10)
        assert st.session("s5", IDLE, LIFE).last_seen == opened
        now[0] += timedelta(seconds=25)
        assert st.session("s5", IDLE, LIFE).last_seen == now[0]

        st.open_session("s3", "ann@acme.example")
        assert st.session_count("ann@acme.example") == 2
        st.set_password("ann@acme.example", "h2")
        assert st.session("s3", IDLE, LIFE) is None
    finally:
        st.close()


def test_the_audit_log_keeps_who_when_what_before_and_after(store: SqlStore) -> None:
    store.audit("ann@acme.example", "place", "o-1", {"status": "Saved in Website"},
                {"status": "Order Placed"})
    store.audit("sam@mailflip.example", "login")
    [entry] = store.audit_log("o-1")
    assert (entry.actor, entry.action, entry.before, entry.after) == (
        "ann@acme.example", "place", {"status": "Saved in Website"},
        {"status": "Order Placed"})
    assert [e.action for e in store.audit_log()] == ["login", "place"]
