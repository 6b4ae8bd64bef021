"""The portal on the local stack: served by `mailflip up` at MAILFLIP_PUBLIC_URL, with a
partner account (for the demo order's partner) and a support account seeded for people
trying mailflip out."""

from __future__ import annotations

import contextlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from mailflip.config import Settings
from mailflip.domain.names import Role
from mailflip.store.repositories import SqlStore

DEMO_PARTNER = "acme-msp"  # the demo order's partner (stack/demo_order.py)
SEEDED = (("partner@acme-msp.example", Role.PARTNER, DEMO_PARTNER),
          ("support@mailflip.local", Role.SUPPORT, None))


def seed_accounts(store: SqlStore) -> list[tuple[str, str, str]]:
    """(email, role, password) of the local stack's two accounts: made when missing,
    and given a new random password at every start (only their hashes are kept, so the
    start-up banner is the one place a password is shown)."""
    from mailflip.web.passwords import hash_password

    seeded = []
    for email, role, partner in SEEDED:
        password = secrets.token_urlsafe(12)
        if store.account(email) is None:
            store.add_account(email, role, partner, hash_password(password))
        else:
            store.set_password(email, hash_password(password))
        seeded.append((email, role.value, password))
    return seeded


def account_lines(accounts: list[tuple[str, str, str]]) -> list[str]:
    """How the start-up banners show the seeded accounts, one per line."""
    return [f"{role:<8} {email}  password {password}"
            + ("  (sets up multi-factor sign-in with an authenticator app at first sign-in)"
               if role == Role.SUPPORT.value else "")
            for email, role, password in accounts]


def tenant_preflight(settings: Settings) -> Any:
    """The wizard's tenant check: `mailflip tenant check` for the settings' Microsoft 365
    endpoints (the local one on the local stack)."""
    from mailflip.compose import check_tenant

    async def check(creds: Any, spec: Any) -> Any:
        return await check_tenant(settings, creds, spec.initial_domain, spec)

    return check


def portal_serving(settings: Settings, store: SqlStore, temporal_ui: str = "",
                   client: Any = None, command: str = "mailflip up",
                   option: str = "--portal-port"
                   ) -> contextlib.AbstractAsyncContextManager[None]:
    """Serve the portal on MAILFLIP_PUBLIC_URL's host and port; its cookies are Secure
    when that URL is https (TLS ended by a proxy in front). With a Temporal `client` it
    acts on orders (without one its pages only read)."""
    from mailflip.lifecycle.converter import EncryptionCodec
    from mailflip.notify.links import Links
    from mailflip.web.actions import OrderActions
    from mailflip.web.app import portal_app
    from mailflip.web.enduser import EndUser
    from mailflip.webserve import serving

    from .orders import engine_settings

    url = urlsplit(settings.public_url)
    host, port = url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https"
                                                           else 80)
    assert settings.secret_key is not None  # Settings refuses to start without one
    secret = settings.secret_key.get_secret_value()
    actions = OrderActions(client, settings.task_queue, engine_settings(settings), store) \
        if client is not None else None
    links = Links(store, secret, settings.public_url, settings.agents_url)
    app: Any = portal_app(store, secret, secure_cookies=url.scheme == "https",
                          temporal_ui=temporal_ui or settings.temporal_ui_url,
                          actions=actions,
                          payload_codec=EncryptionCodec(*settings.payload_keyring()),
                          sessions=(timedelta(minutes=settings.session_idle_minutes),
                                    timedelta(hours=settings.session_lifetime_hours)),
                          enduser=EndUser(links, secret), time_scale=settings.time_scale,
                          preflight=tenant_preflight(settings))
    return serving(app, host, port, what="the portal", command=command, option=option)
