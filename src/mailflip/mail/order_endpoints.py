"""Where an order's mailbox is, from the order's own data (`MAILFLIP_MAIL=order`):

- the source: the host and login in the order's encrypted `source` credentials
  (`mailflip orders credentials ID --kind source --file F`), as one of
  - `{url: imaps://mail.contoso.com, username: admin, password: ...}`: an admin (master)
    login, made as `<source address><master_separator><username>` (separator `*` by
    default, Dovecot's; set `master_separator` for other hosts);
  - `{url: ..., password: ...}`: each mailbox logs in as its source address with this
    password (a host where the partner set one migration password);
  - and, per user, `user:<source address>` credentials `{password: ...}` (what the user
    gave through the gather-info link), which win over both;
- the target: the user's mailbox in the tenant over IMAP (`MAILFLIP_M365_IMAP_URL`), at
  the address it has there now (on the initial domain until its vanity address moves), with
  XOAUTH2 and MigrationApp's Exchange token (`token(order_id, mailbox)`: the app's one
  token, good for every mailbox it has FullAccess to). It is asked for again at every
  login of the pass (`Endpoint.oauth_refresh`), so a reconnect hours into a long pass
  logs in with a live token: msal hands back its cached one until it nears expiry. A
  refused login is tried once more with a token issued anew (`token(..., fresh=True)`,
  `Endpoint.oauth_renew`): a token issued before the app's IMAP permission took effect
  lacks it, and the cache would keep handing it out.

Credentials that are missing or incomplete fail the pass at once (SyncItemError, R-SYNC-
FAILED) with what to do; the mailbox's next pass catches up once they are stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from mailflip.domain.rules import tenant_address
from mailflip.errors import InvalidInput, SyncItemError
from mailflip.store.repositories import SqlStore
from mailflip.sync.endpoints import DEFAULT_PORTS, Endpoint
from mailflip.sync.stores.base import StoreFatal, StoreFault

SOURCE_KIND = "source"
HINT = "mailflip orders credentials ID --kind source --file F"
TOKEN_WAIT_S = 60.0


def user_kind(source: str) -> str:
    return f"user:{source.lower()}"


def _load(vault: SqlStore, order_id: str, kind: str) -> dict[str, str] | None:
    try:
        return vault.load_credentials(order_id, kind)
    except InvalidInput:
        return None


def source_server(vault: SqlStore, order_id: str) -> tuple[dict[str, str], Endpoint]:
    """(the order's source credentials, its source server without a login)."""
    host = _load(vault, order_id, SOURCE_KIND)
    if host is None:
        raise SyncItemError(f"no source credentials stored for order {order_id} ({HINT})")
    url = urlsplit(host.get("url", ""))
    if url.scheme not in DEFAULT_PORTS or not url.hostname:
        raise SyncItemError(f"source credentials of order {order_id}: url must be "
                            f"imap://HOST[:PORT] or imaps://HOST[:PORT] ({HINT})")
    return host, Endpoint(url.scheme, url.hostname, url.port or DEFAULT_PORTS[url.scheme],
                          ca_file=host.get("ca_file") or None)


def check_source_password(vault: SqlStore, order_id: str, source: str, password: str,
                          timeout_s: float = 20.0) -> str | None:
    """None when the order's source server lets `source` in with `password` (a login by
    the sync engine's own IMAP client, as a pass will make), else why not, in words for
    the end user. Blocking: run it in a thread."""
    from mailflip.sync.stores.imap import ImapStore, LoginRefused

    try:
        _, server = source_server(vault, order_id)
    except SyncItemError:
        return ("the migration service cannot reach your mail server yet; try again "
                "later, or tell your IT contact")
    try:
        ImapStore(replace(server, user=source, password=password), timeout_s).close()
    except LoginRefused:
        return "your mail server refused this password: check it and try again"
    except (StoreFault, StoreFatal):
        return "your mail server did not answer just now; try again in a few minutes"
    return None


class OrderEndpoints:
    def __init__(self, vault: SqlStore, imap_url: str,
                 token: Callable[..., Awaitable[str]], ca_file: Path | None = None) -> None:
        parts = urlsplit(imap_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise InvalidInput("MAILFLIP_M365_IMAP_URL", f"{imap_url!r} is not an imap:// or "
                               "imaps:// URL")
        self.target = Endpoint(parts.scheme, parts.hostname,
                               parts.port or DEFAULT_PORTS[parts.scheme],
                               ca_file=str(ca_file) if ca_file else None)
        self.vault, self.token = vault, token

    def __repr__(self) -> str:
        return f"OrderEndpoints(target {self.target.scheme}://{self.target.host}:" \
               f"{self.target.port})"

    async def __call__(self, order_id: str, mailbox: str, source: str
                       ) -> tuple[Endpoint, Endpoint]:
        src = await asyncio.to_thread(self.source, order_id, source)
        user = await asyncio.to_thread(self.tenant_user, order_id, mailbox)
        try:
            token = await self.token(order_id, mailbox)
        except InvalidInput as exc:  # no MigrationApp credentials in the vault
            raise SyncItemError(f"target {mailbox}: {exc.message}") from None
        dst = Endpoint(self.target.scheme, self.target.host, self.target.port, user=user,
                       oauth_token=token, ca_file=self.target.ca_file,
                       oauth_refresh=self._refresher(order_id, mailbox, token),
                       oauth_renew=self._refresher(order_id, mailbox, None, fresh=True))
        return src, dst

    def _refresher(self, order_id: str, mailbox: str, first: str | None,
                   fresh: bool = False) -> Callable[[], str]:
        """The target's token for each login, asked for on this event loop from the
        engine's thread; the first login uses the token the pass began with (`first`).
        `fresh`: a token issued anew, not a cached one (after a refused login). A token
        service that cannot answer is a transient fault (the link retries), credentials
        gone from the vault a permanent one."""
        loop = asyncio.get_running_loop()
        given = [first] if first is not None else []

        def refresh() -> str:
            if given:
                return given.pop()
            try:
                async def ask() -> str:
                    if fresh:
                        return await self.token(order_id, mailbox, fresh=True)
                    return await self.token(order_id, mailbox)
                return asyncio.run_coroutine_threadsafe(ask(), loop).result(TOKEN_WAIT_S)
            except InvalidInput as exc:
                raise StoreFatal(f"target {mailbox}: {exc.message}") from None
            except Exception as exc:  # noqa: BLE001 - login service away, timed out: retry
                raise StoreFault(f"target {mailbox}: no token: {type(exc).__name__}") from None
        return refresh

    def tenant_user(self, order_id: str, mailbox: str) -> str:
        row = self.vault.mailbox(order_id, mailbox)
        if row is None:  # not mirrored: its own address
            return mailbox
        return tenant_address(mailbox, row.created, self.vault.get_order(order_id)
                              .initial_domain)

    def source(self, order_id: str, source: str) -> Endpoint:
        host, server = source_server(self.vault, order_id)
        own = _load(self.vault, order_id, user_kind(source))
        if own and own.get("password"):
            user, password = source, own["password"]
        elif host.get("password"):
            admin = host.get("username", "")
            user = f"{source}{host.get('master_separator', '*')}{admin}" if admin else source
            password = host["password"]
        else:
            raise SyncItemError(f"no password for {source}: neither the user's own nor the "
                                f"source credentials' ({HINT})")
        return replace(server, user=user, password=password)
