"""The local Microsoft 365's IMAP endpoint over real sockets: TLS, XOAUTH2 with the
simulator's tokens for what the real adapter set up (MigrationApp, FullAccess), a real
Dovecot behind it whose oauth2 passdb introspects at the simulator, and Exchange
Online's answers and limits in front (M365.md §5, §9; IMAP-NOTES.md §3)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailflip.localnet import free_port
from mailflip.sync.endpoints import Endpoint
from mailflip.sync.engine import run_pass
from mailflip.tenant.simulator.app import serving
from mailflip.tenant.simulator.imap_front import CAPABILITIES, ImapFront, imap_endpoint
from mailflip.tenant.simulator.local import write_self_signed
from tests.adapters.test_m365_imap_access import ANN, prepared


@asynccontextmanager
async def endpoint(tmp_path: Path, app: Any
                   ) -> AsyncIterator[tuple[ImapFront, int, ssl.SSLContext]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed(cert, key, "127.0.0.1")
    http_port, imap_port = free_port(), free_port()
    async with serving(app, "127.0.0.1", http_port, cert=cert, key=key), imap_endpoint(
            app, host="127.0.0.1", port=imap_port, cert=cert, key=key,
            mail_dir=tmp_path / "imap",
            introspection_url=f"https://127.0.0.1:{http_port}/_imap/introspect") as front:
        yield front, imap_port, ssl.create_default_context(cafile=str(cert))


def client(port: int, context: ssl.SSLContext) -> IMAPClient:
    return IMAPClient("127.0.0.1", port, ssl=True, ssl_context=context, timeout=10)


def login(port: int, context: ssl.SSLContext, user: str, token: str) -> IMAPClient:
    imap = client(port, context)
    imap.oauth2_login(user, token)
    return imap


async def test_full_access_logs_in_over_tls_and_reaches_the_mailbox(tmp_path: Path) -> None:
    app, _clock, token = await prepared()
    async with endpoint(tmp_path, app) as (front, port, context):
        def use() -> tuple[Any, ...]:
            imap = login(port, context, ANN, token)
            caps = imap.capabilities()
            folders = {name: flags for flags, _d, name in imap.list_folders()}
            imap.append("INBOX", b"Subject: hi\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n",
                        flags=[b"\\Seen"])
            imap.select_folder("INBOX")
            fetched = imap.fetch(imap.search(), ["FLAGS", "RFC822"])
            opened = dict(front.open)
            imap.logout()
            return caps, folders, fetched, opened

        caps, folders, fetched, opened = await asyncio.to_thread(use)
    assert set(caps) == set(CAPABILITIES.upper().split())  # Exchange's list, not Dovecot's
    assert b"CONDSTORE" not in caps
    assert {"Sent Items", "Deleted Items", "Junk Email", "Drafts", "Archive"} <= set(folders)
    assert b"\\Sent" in folders["Sent Items"]
    [(_, message)] = fetched.items()
    assert message[b"RFC822"].startswith(b"Subject: hi") and b"\\Seen" in message[b"FLAGS"]
    assert list(opened.values()) == [1]


async def test_before_provisioning_authenticate_fails_then_it_connects(tmp_path: Path) -> None:
    app, clock, token = await prepared()
    for mailbox in app.state.tenants[next(iter(app.state.tenants))].exchange.mailboxes.values():
        mailbox.ready_at = clock.now + 300
    async with endpoint(tmp_path, app) as (_front, port, context):
        def early() -> str:
            with pytest.raises(LoginError) as refused:
                login(port, context, ANN, token)
            return str(refused.value)

        assert "AUTHENTICATE failed." in await asyncio.to_thread(early)
        clock.advance(300)
        imap = await asyncio.to_thread(login, port, context, ANN, token)
        await asyncio.to_thread(imap.logout)


async def test_without_full_access_the_user_is_authenticated_but_not_connected(
        tmp_path: Path) -> None:
    app, _clock, token = await prepared()
    tenant = app.state.tenants[next(iter(app.state.tenants))]
    tenant.exchange.permissions.clear()  # as before Add-MailboxPermission
    async with endpoint(tmp_path, app) as (_front, port, context):
        def use() -> str:
            imap = login(port, context, ANN, token)  # the login itself succeeds
            with pytest.raises(IMAPClientError) as refused:
                imap.list_folders()
            imap.logout()
            return str(refused.value)

        assert "User is authenticated but not connected." in await asyncio.to_thread(use)

        def engine() -> str:  # the sync engine retries it: FullAccess may still propagate
            from mailflip.sync.endpoints import Endpoint
            from mailflip.sync.stores.base import StoreFault
            from mailflip.sync.stores.imap import ImapStore

            with pytest.raises(StoreFault) as transient:
                ImapStore(Endpoint("imaps", "127.0.0.1", port, ANN, oauth_token=token,
                                   ca_file=str(tmp_path / "cert.pem")), 10)
            return str(transient.value)

        assert "not propagated yet" in await asyncio.to_thread(engine)


async def test_basic_auth_and_bad_tokens_are_refused(tmp_path: Path) -> None:
    app, _clock, token = await prepared()
    async with endpoint(tmp_path, app) as (_front, port, context):
        def use() -> list[str]:
            out = []
            for user, secret in ((ANN, "password"), (ANN, token[:-2] + "xx")):
                imap = client(port, context)
                with pytest.raises(LoginError) as refused:
                    if secret == "password":
                        imap.login(user, secret)
                    else:
                        imap.oauth2_login(user, secret)
                out.append(str(refused.value))
                imap.logout()
            return out

        basic, bad = await asyncio.to_thread(use)
    assert "LOGIN failed." in basic and "AUTHENTICATE failed." in bad


async def test_a_mailbox_over_its_command_budget_is_throttled_with_a_backoff(
        tmp_path: Path) -> None:
    app, clock, token = await prepared()
    app.state.knobs = replace(app.state.knobs, imap_commands_per_s=1.0, imap_command_burst=8)
    async with endpoint(tmp_path, app) as (_front, port, context):
        def use() -> tuple[str, str]:
            imap = login(port, context, ANN, token)
            with pytest.raises((IMAPClientError, OSError)) as throttled:
                for _ in range(20):
                    imap.noop()
            imap.shutdown()
            with pytest.raises(LoginError) as again:  # still throttled: refused at login
                login(port, context, ANN, token)
            return str(throttled.value), str(again.value)

        first, again = await asyncio.to_thread(use)
        assert "Request is throttled. Suggested Backoff Time: 2000 milliseconds" in first
        assert "Suggested Backoff Time" in again
        clock.advance(2)  # the back-off has passed, and two commands are back
        imap = await asyncio.to_thread(login, port, context, ANN, token)
        await asyncio.to_thread(imap.logout)


async def test_an_append_over_the_maximum_message_size_is_refused(tmp_path: Path) -> None:
    app, _clock, token = await prepared()
    app.state.knobs = replace(app.state.knobs, imap_max_message_bytes=1000)
    async with endpoint(tmp_path, app) as (_front, port, context):
        def use() -> tuple[str, int]:
            imap = login(port, context, ANN, token)
            with pytest.raises(IMAPClientError) as refused:
                imap.append("INBOX", b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n")
            imap.append("INBOX", b"Subject: small\r\n\r\nok\r\n")  # the session goes on
            count = imap.select_folder("INBOX")[b"EXISTS"]
            imap.logout()
            return str(refused.value), count

        refused, count = await asyncio.to_thread(use)
    assert "Maximum size of appendable message has been exceeded" in refused
    assert count == 1


async def test_the_sync_engine_copies_a_mailbox_into_the_tenant_over_xoauth2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "src" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (source / sub).mkdir(parents=True)
    for n in range(5):
        (source / "cur" / f"{n}.mail:2,S").write_bytes(
            f"Subject: m{n}\r\nMessage-ID: <m{n}@src>\r\n\r\nbody {n}\r\n".encode())
    app, _clock, token = await prepared()
    async with endpoint(tmp_path, app) as (_front, port, context):
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        target = Endpoint("imaps", "127.0.0.1", port, ANN, oauth_token=token)
        report = await asyncio.to_thread(run_pass, f"maildir://{source}", target,
                                         tmp_path / "ledger.db")
        again = await asyncio.to_thread(run_pass, f"maildir://{source}", target,
                                        tmp_path / "ledger.db")

        def count() -> int:
            imap = login(port, context, ANN, token)
            exists = int(imap.select_folder("INBOX")[b"EXISTS"])
            imap.logout()
            return exists

        assert await asyncio.to_thread(count) == 5
    assert report.messages_copied == 5 and again.messages_copied == 0
