"""Opening a store: URLs, directories, defaults from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflip.config import DEV_SECRET_KEY
from mailflip.errors import InvalidInput
from mailflip.store.engine import normalize_url
from mailflip.store.repositories import create_store


def test_plain_postgresql_url_means_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_sqlite_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deeper" / "mailflip.db"
    store = create_store(f"sqlite:///{path}", secret_key=DEV_SECRET_KEY)
    try:
        assert path.is_file() and store.list_orders() == []
    finally:
        store.close()


def test_defaults_come_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILFLIP_DATABASE_URL", raising=False)
    monkeypatch.delenv("MAILFLIP_ENV", raising=False)
    monkeypatch.delenv("MAILFLIP_SECRET_KEY", raising=False)
    store = create_store()
    try:
        store.save_credentials("o-1", "tenant", {"p": "x"})
        assert (tmp_path / "var" / "mailflip.db").is_file()
    finally:
        store.close()


def test_a_bad_secret_key_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        create_store(f"sqlite:///{tmp_path}/x.db", secret_key="not-a-key")
    assert err.value.field == "secret_key"


def test_in_memory_sqlite_keeps_its_schema_and_data() -> None:
    store = create_store("sqlite://", secret_key=DEV_SECRET_KEY)
    try:
        store.save_credentials("o-1", "tenant", {"p": "x"})
        assert store.load_credentials("o-1", "tenant") == {"p": "x"}
    finally:
        store.close()
