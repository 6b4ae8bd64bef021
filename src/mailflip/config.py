"""mailflip's settings: one class, read from `MAILFLIP_*` environment variables.

Built by `get_settings()` only (no import-time side effects). Outside `env=dev` the
settings refuse the fixed development secret key, so a production deployment cannot
encrypt credentials with a key that is public in this repository.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Public on purpose: fine for a laptop, refused outside dev.
DEV_SECRET_KEY = "bWFpbGZsaXAtZGV2LWtleS1ub3QtZm9yLXByb2QhISE="
# The Temporal payload key of dev (AES-256, id "dev"): public too, refused outside dev.
DEV_PAYLOAD_KEYS = "dev:bWFpbGZsaXAtZGV2LXBheWxvYWQta2V5LXB1YmxpYyE="


def parse_payload_keys(text: str) -> tuple[str, dict[str, bytes]]:
    """`ID:KEY[,ID:KEY...]` (KEY: 32 bytes, url-safe base64) as (the newest id, every
    key by id). The first is the newest: new payloads are encrypted with it, the others
    only decrypt (rotation). Errors never show a key."""
    import base64
    import binascii

    keys: dict[str, bytes] = {}
    for n, part in enumerate(p.strip() for p in text.split(",")):
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or not kid.isascii() or not kid.replace("-", "").isalnum():
            raise ValueError(f"MAILFLIP_PAYLOAD_KEYS item {n + 1}: expected ID:KEY, the id "
                             "letters, digits and '-'")
        try:
            key = base64.urlsafe_b64decode(b64.encode())
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError(f"MAILFLIP_PAYLOAD_KEYS key {kid!r}: not 32 bytes of url-safe "
                             "base64 (AES-256)")
        if kid in keys:
            raise ValueError(f"MAILFLIP_PAYLOAD_KEYS: key id {kid!r} given twice")
        keys[kid] = key
    return next(iter(keys)), keys


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAILFLIP_", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["dev", "prod"] = "dev"
    # A relative SQLite path is relative to the working directory; the store creates
    # the directory when it opens the database.
    database_url: str = "sqlite:///var/mailflip.db"
    # Fernet key for credentials at rest; validated after `env` (field order matters).
    secret_key: SecretStr | None = Field(default=None, validate_default=True)
    # AES-GCM keys for every Temporal payload (workflow inputs, state, Update and
    # activity arguments and results): `ID:KEY,...`, newest first (parse_payload_keys).
    payload_keys: SecretStr | None = Field(default=None, validate_default=True)

    # logging (mailflip/logs.py): mailflip's records from this level; a file of JSON
    # lines (`mailflip up`: DATA_DIR/mailflip.log); the console as text, json, or auto
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_file: Path | None = None
    log_format: Literal["auto", "text", "json"] = "auto"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    task_queue: str = "mailflip"
    # Sync passes on a task queue of their own, served by `mailflip worker --passes`
    # processes: the mail work then never holds up workflow tasks (one Python process
    # runs one thing at a time). Empty: every worker runs passes too.
    pass_task_queue: str = ""

    verify_interval_minutes: int = Field(default=15, gt=0)
    # >1 divides every lifecycle duration of the orders this process creates (a whole
    # order on the local stack in minutes, for tests and demos); dev only
    time_scale: float = Field(default=1.0, ge=1.0)
    sweep_interval_hours: int = Field(default=24, gt=0)
    pass_give_up_hours: float = Field(default=24, gt=0)  # R-PASS-RETRY
    # R-PASS-LONG: a pass whose worker stops heartbeating this long resumes elsewhere.
    pass_heartbeat_seconds: float = Field(default=300, gt=0)
    # A stopping worker (deployment) hands its running passes over within this time.
    worker_shutdown_grace_seconds: float = Field(default=30, ge=0)

    # The adapter of each port (compose.py): empty means none configured, and a worker
    # refuses to start unless a simulated world (--world) serves that port.
    tenant: str = ""  # graph: Microsoft Graph + Exchange Online (tenant/graph.py)
    dns: str = ""  # resolver: DNS queries with dnspython (dns/resolver.py)
    agents: str = ""  # api: the desktop agents' HTTP API (agents/api.py), state in the store
    notify: str = ""  # smtp: the store's outbox, delivered over SMTP
    # order: the sync engine, from each order's source credentials into its tenant's
    # mailboxes (mail/order_endpoints.py); engine: endpoints from `mail_endpoints`
    mail: str = ""

    # tenant=graph: Microsoft 365's endpoints (national clouds use other hosts; a local
    # Microsoft 365 serves them all on one), and a CA file to trust for a local one's
    # self-signed certificate (msal signs in over https only).
    m365_login_url: str = "https://login.microsoftonline.com"
    m365_graph_url: str = "https://graph.microsoft.com"
    m365_exo_url: str = "https://outlook.office365.com"
    m365_imap_url: str = "imaps://outlook.office365.com:993"
    m365_ca_file: Path | None = None

    # dns=resolver: the DNS server to ask (HOST or HOST:PORT, e.g. `mailflip sim dns`'s
    # 127.0.0.1:8053); empty: the system's resolvers
    dns_server: str = ""

    # Where end users reach mailflip: the gather-info link in their emails
    # (public_url/u/TOKEN; the end-user pages), and the agents' API (agents_url, put in
    # the prepare-for-migration email). agents_listen: HOST:PORT this worker serves the
    # agents' API on (agents=api); empty serves none (another process does).
    public_url: str = "http://127.0.0.1:8080"
    # a portal session ends after this long unused, and this long after sign-in at most
    session_idle_minutes: float = Field(default=30, gt=0)
    session_lifetime_hours: float = Field(default=12, gt=0)
    agents_url: str = "http://127.0.0.1:8070"
    agents_listen: str = ""
    # The Temporal UI support staff use (linked from the support console); its origin
    # may read decrypted histories from the portal's codec endpoint (web/codec.py)
    temporal_ui_url: str = ""
    agents_poll_seconds: int = Field(default=30, gt=0)  # how often agents call back

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "mailflip@localhost"
    smtp_security: Literal["none", "starttls", "tls"] = "none"  # tls: implicit (port 465)
    smtp_user: str = ""  # set: log in (AUTH) as this user with smtp_password
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None  # a private CA for the SMTP server's certificate

    # mail=engine: where each order mailbox lives (CSV, mail/endpoints.py), and the
    # root of the per-mailbox ledgers that make every pass incremental and resumable.
    mail_endpoints: Path | None = None
    mail_state_dir: Path = Path("var/mail-state")

    @field_validator("database_url")
    @classmethod
    def _database_url_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("database_url must not be empty (MAILFLIP_DATABASE_URL)")
        return value

    @field_validator("time_scale")
    @classmethod
    def _time_scale_dev_only(cls, value: float, info: ValidationInfo) -> float:
        if value != 1 and info.data.get("env", "dev") != "dev":
            raise ValueError("MAILFLIP_TIME_SCALE is for tests and demos: only with "
                             "MAILFLIP_ENV=dev")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key_safe(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr:
        key = _own_key(value, info, "MAILFLIP_SECRET_KEY", DEV_SECRET_KEY, "keys secret",
                       lambda k: k == DEV_SECRET_KEY)
        try:
            Fernet(key.get_secret_value().encode())
        except ValueError:
            # Never echo the value: it is (meant to be) a secret.
            raise ValueError(
                "MAILFLIP_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
        return key

    @field_validator("payload_keys")
    @classmethod
    def _payload_keys_safe(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr:
        dev = set(parse_payload_keys(DEV_PAYLOAD_KEYS)[1].values())
        return _own_key(value, info, "MAILFLIP_PAYLOAD_KEYS", DEV_PAYLOAD_KEYS,
                        "keys payload",
                        lambda k: bool(set(parse_payload_keys(k)[1].values()) & dev))

    def payload_keyring(self) -> tuple[str, dict[str, bytes]]:
        """(the newest key id, every key by id) for the payload codec."""
        assert self.payload_keys is not None  # the validator fills it in
        return parse_payload_keys(self.payload_keys.get_secret_value())


def _own_key(value: SecretStr | None, info: ValidationInfo, name: str, dev_value: str,
             command: str, is_dev: Callable[[str], bool]) -> SecretStr:
    """A key setting: the public dev value when unset in dev; outside dev required, and
    refused if it is (or holds) the dev value."""
    env = info.data.get("env", "dev")
    if value is None or not value.get_secret_value():
        if env == "dev":
            return SecretStr(dev_value)
        raise ValueError(f"{name} is required when MAILFLIP_ENV={env}; generate one with "
                         f"`mailflip {command}`")
    if env != "dev" and is_dev(value.get_secret_value()):
        raise ValueError(f"the development key is public and refused when MAILFLIP_ENV={env}; "
                         f"set {name} to a key of your own")
    return value


def settings_error(exc: Any) -> str:
    """A pydantic ValidationError of Settings as one line naming the variable (the
    value itself is never shown: it may be a secret)."""
    first = exc.errors()[0]
    name = "MAILFLIP_" + "_".join(str(p) for p in first["loc"]).upper()
    return f"{name}: {first['msg']}"


def get_settings() -> Settings:
    """Read the settings from the environment now (each call reads it afresh)."""
    return Settings()
