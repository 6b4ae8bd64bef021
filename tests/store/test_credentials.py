"""Credentials are stored as Fernet ciphertext only, and purged on request."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailflip.errors import InvalidInput
from mailflip.store.crypto import CredentialsUnreadable
from mailflip.store.repositories import SqlStore, create_store
from mailflip.store.tables import CredentialRecord

SECRET = {"username": "admin@contoso.onmicrosoft.com", "password": "hunter2-Very-Secret"}


def test_ciphertext_at_rest_round_trips(store: SqlStore) -> None:
    store.save_credentials("o-1", "tenant", SECRET)
    assert store.load_credentials("o-1", "tenant") == SECRET

    with Session(store.engine) as session:
        record = session.scalars(select(CredentialRecord)).one()
        assert b"hunter2" not in record.ciphertext and b"admin@" not in record.ciphertext
        assert "hunter2" not in repr(record) and str(record.ciphertext) not in repr(record)
    assert "hunter2" not in repr(store)


def test_save_replaces_and_kinds_are_separate(store: SqlStore) -> None:
    store.save_credentials("o-1", "tenant", SECRET)
    store.save_credentials("o-1", "tenant", {"password": "new"})
    store.save_credentials("o-1", "source", {"master": "m"})
    assert store.load_credentials("o-1", "tenant") == {"password": "new"}
    assert store.load_credentials("o-1", "source") == {"master": "m"}


def test_purge_removes_every_kind(store: SqlStore) -> None:
    store.save_credentials("o-1", "tenant", SECRET)
    store.save_credentials("o-1", "source", SECRET)
    store.save_credentials("o-2", "tenant", SECRET)
    store.purge_credentials("o-1")

    with pytest.raises(InvalidInput) as err:
        store.load_credentials("o-1", "tenant")
    assert err.value.field == "kind"
    with store.engine.connect() as conn:
        left = conn.execute(
            select(CredentialRecord.order_id, func.count()).group_by(CredentialRecord.order_id)
        ).all()
    assert [tuple(row) for row in left] == [("o-2", 1)]


def test_another_key_cannot_read(store: SqlStore, database_url: str) -> None:
    store.save_credentials("o-1", "tenant", SECRET)
    other = create_store(database_url, secret_key=Fernet.generate_key().decode())
    try:
        with pytest.raises(CredentialsUnreadable) as err:
            other.load_credentials("o-1", "tenant")
        assert "hunter2" not in str(err.value)
    finally:
        other.close()


def test_bad_secret_names_the_field(store: SqlStore) -> None:
    with pytest.raises(InvalidInput) as err:
        store.save_credentials("o-1", "tenant", {"when": object()})
    assert err.value.field == "secret"
    with pytest.raises(InvalidInput) as err:
        store.save_credentials("o-1", "", SECRET)
    assert err.value.field == "kind"


def test_completion_keeps_the_tenant_credentials_until_the_access_removal_is_done(
        store) -> None:
    for kind in ("tenant", "source", "migration_app"):
        store.save_credentials("o-9", kind, {"secret": kind})
    store.purge_credentials("o-9", keep=("tenant",))  # Perform Migration Completed Steps
    assert store.load_credentials("o-9", "tenant") == {"secret": "tenant"}
    for kind in ("source", "migration_app"):
        with pytest.raises(InvalidInput):
            store.load_credentials("o-9", kind)
    store.purge_credentials("o-9")  # Delete SKImpersonator Accounts, once it is done
    with pytest.raises(InvalidInput):
        store.load_credentials("o-9", "tenant")
