"""Source/target URLs and their credentials (never echoed back)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mailflip.errors import InvalidInput

DEFAULT_PORTS = {"imap": 143, "imaps": 993}


@dataclass(frozen=True)
class Endpoint:
    """Where mail lives. `display` is safe to print: it never holds a secret."""

    scheme: str  # imap | imaps | maildir
    host: str = ""
    port: int = 0
    user: str = ""
    path: str = ""
    password: str | None = field(default=None, repr=False)
    oauth_token: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # a CA to trust for imaps (a private server's certificate)
    # a fresh bearer token for each login (a reconnect hours into a long pass must not
    # present the pass's first, expired token); called from the engine's thread
    oauth_refresh: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    # a token issued anew, never from a cache: asked for once when a login with the
    # usual one is refused (a token issued before the app's permission took effect
    # lacks it, and a cache would hand it out for an hour)
    oauth_renew: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def bearer(self) -> str | None:
        """The token to log in with now (XOAUTH2), or None for a password login."""
        if self.oauth_refresh is not None:
            return self.oauth_refresh()
        return self.oauth_token

    @property
    def is_imap(self) -> bool:
        return self.scheme in DEFAULT_PORTS

    @property
    def display(self) -> str:
        if self.scheme == "maildir":
            return f"maildir://{self.path}"
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}"

    @property
    def host_key(self) -> str:
        """What per-host connection limits count against."""
        return f"{self.host}:{self.port}" if self.is_imap else "local"


def _read_secret(path: str, field_name: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidInput(field_name, f"cannot read {path}: {exc.strerror}") from None
    if not value:
        raise InvalidInput(field_name, f"{path} is empty")
    return value


def parse_endpoint(
    url: str,
    field_name: str,
    *,
    password_file: str | None = None,
    oauth_token_file: str | None = None,
    password_env: str | None = None,
) -> Endpoint:
    """Parse `imap://user@host:port`, `imaps://...` or `maildir:///path`.

    Password precedence: password file, then inline in the URL, then the
    environment variable. An OAuth token file selects XOAUTH2 instead.
    """
    if not isinstance(url, str) or "://" not in url:
        raise InvalidInput(
            field_name, "expected imap://user@host[:port], imaps://... or maildir:///path"
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "maildir":
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise InvalidInput(field_name, "maildir URL needs an absolute path: maildir:///path")
        return Endpoint(scheme="maildir", path=path)
    if scheme not in DEFAULT_PORTS:
        raise InvalidInput(
            field_name, f"unsupported scheme {scheme!r} (use imap, imaps or maildir)"
        )
    if not parts.hostname:
        raise InvalidInput(field_name, "missing host")
    if not parts.username:
        raise InvalidInput(field_name, "missing user (imap://user@host)")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise InvalidInput(field_name, "port is not a number") from None
    password = unquote(parts.password) if parts.password else None
    if password_file:
        password = _read_secret(password_file, f"{field_name}_password_file")
    if password is None and password_env:
        password = os.environ.get(password_env) or None
    token = (
        _read_secret(oauth_token_file, f"{field_name}_oauth_token_file")
        if oauth_token_file
        else None
    )
    if password is None and token is None:
        hint = f" or ${password_env}" if password_env else ""
        raise InvalidInput(field_name, f"no password: give --{field_name}-password-file{hint}")
    return Endpoint(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=password,
        oauth_token=token,
    )
