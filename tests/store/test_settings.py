"""Settings: read from MAILFLIP_* at call time; unsafe defaults refused outside dev."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from mailflip.config import DEV_SECRET_KEY, get_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "SECRET_KEY", "DATABASE_URL", "SMTP_PORT", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(f"MAILFLIP_{name}", raising=False)
    # payload keys of its own, so that prod settings fail only on what a test changes
    # (tests/security/test_payload_codec.py checks the payload keys' own refusals)
    monkeypatch.setenv("MAILFLIP_PAYLOAD_KEYS", f"t:{Fernet.generate_key().decode()}")


def refused_field(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[str, str]:
    for name, value in env.items():
        monkeypatch.setenv(f"MAILFLIP_{name.upper()}", value)
    with pytest.raises(ValidationError) as err:
        get_settings()
    [error] = err.value.errors()
    return ".".join(map(str, error["loc"])), str(err.value)


def test_dev_defaults() -> None:
    settings = get_settings()
    assert settings.env == "dev"
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    assert settings.database_url == "sqlite:///var/mailflip.db"
    assert (settings.temporal_address, settings.temporal_namespace, settings.task_queue) == (
        "localhost:7233",
        "default",
        "mailflip",
    )
    assert (settings.verify_interval_minutes, settings.sweep_interval_hours) == (15, 24)
    assert (settings.tenant, settings.notify, settings.mail) == ("", "", "")
    assert settings.smtp_port == 1025
    assert settings.temporal_tls is False and settings.temporal_api_key is None


def test_prod_refuses_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    field, message = refused_field(monkeypatch, env="prod")
    assert field == "secret_key" and "MAILFLIP_SECRET_KEY is required" in message


def test_prod_refuses_the_dev_key(monkeypatch: pytest.MonkeyPatch) -> None:
    field, message = refused_field(monkeypatch, env="prod", secret_key=DEV_SECRET_KEY)
    assert field == "secret_key" and "development key" in message


def test_a_bad_key_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    field, message = refused_field(monkeypatch, env="prod", secret_key="my-password-123")
    assert field == "secret_key" and "not a Fernet key" in message
    assert "my-password-123" not in message


def test_prod_with_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MAILFLIP_ENV", "prod")
    monkeypatch.setenv("MAILFLIP_SECRET_KEY", key)
    monkeypatch.setenv("MAILFLIP_TEMPORAL_API_KEY", "tok-123")
    settings = get_settings()
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == key
    assert "tok-123" not in repr(settings) and key not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("env", "production", "env"),
        ("smtp_port", "0", "smtp_port"),
        ("database_url", " ", "database_url"),
    ],
)
def test_bad_values_name_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    assert refused_field(monkeypatch, **{name: value})[0] == field
