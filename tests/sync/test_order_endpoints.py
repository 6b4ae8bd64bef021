"""MAILFLIP_MAIL=order: an order's pass reads the source host and login from the order's
encrypted credentials and writes into the target over IMAP with XOAUTH2 (a Dovecot whose
oauth2 passdb introspects the token, as Exchange Online checks MigrationApp's), through
the run_sync_pass activity; missing credentials fail the pass at once, naming what to
store."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.messages import SyncPassInput
from mailflip.mail.engine_mover import EngineMover
from mailflip.mail.order_endpoints import OrderEndpoints, user_kind
from mailflip.store.memory import MemoryMirror
from mailflip.store.repositories import create_store
from tests.sync.dovecot import PASSWORD
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot


@pytest.fixture
def vault(tmp_path: Path):
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None)
    yield store
    store.close()


def mover(vault, oauth_dovecot, tmp_path: Path, tokens: list[str]) -> SyncsActivities:
    target = oauth_dovecot.server

    async def token(order_id: str, mailbox: str) -> str:
        tokens.append(order_id)
        return oauth_dovecot.issuer.issue(mailbox)

    ends = OrderEndpoints(vault, f"imap://{target.host}:{target.port}", token)
    return SyncsActivities(EngineMover(ends, tmp_path / "state"), MemoryMirror())


async def test_an_order_pass_copies_from_its_source_credentials_into_the_tenant_over_xoauth2(
        dovecot, account, oauth_dovecot, vault, tmp_path) -> None:
    src, dst = account("src"), oauth_dovecot.server.add_user(f"t{tmp_path.name[-8:]}")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(6)],
                       "Sent": [make_msg(i, tag="s") for i in range(2)]})
    vault.save_credentials("o1", "source", {"url": f"imap://{dovecot.host}:{dovecot.port}",
                                            "password": PASSWORD})
    tokens: list[str] = []
    acts = mover(vault, oauth_dovecot, tmp_path, tokens)
    env = ActivityEnvironment()
    first = await env.run(acts.run_sync_pass, SyncPassInput("o1", dst, src, "initial"))
    assert first.messages == 8 and first.errors == 0 and set(tokens) == {"o1"}
    logins = len(tokens)  # the pass's first token, then one asked for at each reconnect
    want = ids_by_folder(snapshot(dovecot, src))
    assert ids_by_folder(snapshot(oauth_dovecot.server, dst)) == want
    again = await env.run(acts.run_sync_pass, SyncPassInput("o1", dst, src, "resync"))
    assert again.messages == 0 and len(tokens) > logins  # the next pass asks again


async def test_the_users_own_password_wins_over_the_source_credentials(
        dovecot, account, oauth_dovecot, vault, tmp_path) -> None:
    src, dst = account("src"), oauth_dovecot.server.add_user(f"u{tmp_path.name[-8:]}")
    put(dovecot, src, {"INBOX": [make_msg(1)]})
    vault.save_credentials("o1", "source", {"url": f"imap://{dovecot.host}:{dovecot.port}",
                                            "password": "not-the-password"})
    acts = mover(vault, oauth_dovecot, tmp_path, [])
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as refused:  # a refused login is permanent
        await env.run(acts.run_sync_pass, SyncPassInput("o1", dst, src, "initial"))
    assert refused.value.type == "SyncItemError" and refused.value.non_retryable
    assert "not-the-password" not in str(refused.value)
    vault.save_credentials("o1", user_kind(src), {"password": PASSWORD})  # gather-info
    done = await env.run(acts.run_sync_pass, SyncPassInput("o1", dst, src, "initial"))
    assert done.messages == 1


@pytest.mark.parametrize("secret,says", [
    (None, "no source credentials stored for order o1"),
    ({"password": PASSWORD}, "url must be imap://HOST[:PORT] or imaps://HOST[:PORT]"),
    ({"url": "imap://mail.example"}, "no password for"),
])
async def test_missing_source_credentials_fail_the_pass_saying_what_to_store(
        oauth_dovecot, vault, tmp_path, secret, says) -> None:
    if secret is not None:
        vault.save_credentials("o1", "source", secret)
    acts = mover(vault, oauth_dovecot, tmp_path, [])
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(acts.run_sync_pass, SyncPassInput(
            "o1", "ann@contoso.com", "ann@old.example", "initial"))
    assert failed.value.type == "SyncItemError" and failed.value.non_retryable
    assert says in str(failed.value) and "--kind source" in str(failed.value)


def test_master_login_is_made_from_the_source_address_and_the_admin(vault) -> None:
    vault.save_credentials("o1", "source", {"url": "imaps://mail.contoso.com",
                                            "username": "admin", "password": "s3cret"})

    async def token(order_id: str, mailbox: str) -> str:
        return "t"

    end = OrderEndpoints(vault, "imaps://outlook.office365.com:993", token).source(
        "o1", "ann@contoso.com")
    assert (end.user, end.host, end.port, end.scheme) == (
        "ann@contoso.com*admin", "mail.contoso.com", 993, "imaps")
    assert "s3cret" not in repr(end)


async def test_a_reconnect_late_in_a_pass_logs_in_with_a_fresh_token_not_the_expired_one(
        oauth_dovecot, vault, tmp_path) -> None:
    """Exchange Online checks the token at each login: a long pass that reconnects after
    its first token expired must present a new one (msal's cache renews near expiry)."""
    import asyncio

    from mailflip.sync.stores import open_store

    dst = oauth_dovecot.server.add_user(f"r{tmp_path.name[-8:]}")
    issued: list[str] = []

    async def token(order_id: str, mailbox: str) -> str:
        issued.append(oauth_dovecot.issuer.issue(mailbox))
        return issued[-1]

    vault.save_credentials("o1", "source", {"url": "imap://mail.example", "password": "x"})
    target = oauth_dovecot.server
    ends = OrderEndpoints(vault, f"imap://{target.host}:{target.port}", token)
    _, endpoint = await ends("o1", dst, "ann@old.example")

    def login_then_close() -> None:
        open_store(endpoint, 10.0).close()

    await asyncio.to_thread(login_then_close)  # the pass's first login: its first token
    assert len(issued) == 1
    del oauth_dovecot.issuer.tokens[issued[0]]  # that token expires
    await asyncio.to_thread(login_then_close)  # the reconnect asks for another
    assert len(issued) == 2 and issued[1] != issued[0]
    assert oauth_dovecot.issuer.lookups[-1] == issued[1]


async def test_a_refused_login_tries_once_more_with_a_token_issued_anew(
        oauth_dovecot, vault, tmp_path) -> None:
    """A token issued before MigrationApp's IMAP permission took effect lacks it, and
    msal's cache hands it out for its whole hour: a refused login asks for a token issued
    now (not from the cache) and logs in with it; refused again, it is refused for good."""
    import asyncio

    from mailflip.sync.stores import open_store
    from mailflip.sync.stores.base import StoreFatal

    dst = oauth_dovecot.server.add_user(f"n{tmp_path.name[-8:]}")
    stale = oauth_dovecot.issuer.issue(dst)
    del oauth_dovecot.issuer.tokens[stale]  # the server refuses it
    asked: list[bool] = []
    renewable = [True]

    async def token(order_id: str, mailbox: str, fresh: bool = False) -> str:
        asked.append(fresh)
        if fresh and renewable[0]:
            return oauth_dovecot.issuer.issue(mailbox)
        return stale  # the cache's

    vault.save_credentials("o1", "source", {"url": "imap://mail.example", "password": "x"})
    target = oauth_dovecot.server
    ends = OrderEndpoints(vault, f"imap://{target.host}:{target.port}", token)
    _, endpoint = await ends("o1", dst, "ann@old.example")
    await asyncio.to_thread(lambda: open_store(endpoint, 10.0).close())
    assert asked == [False, True]  # the pass's token, refused; then one issued anew

    renewable[0] = False  # a token issued now is refused too: for good
    _, endpoint = await ends("o1", dst, "ann@old.example")
    with pytest.raises(StoreFatal, match="a newly issued token too"):
        await asyncio.to_thread(lambda: open_store(endpoint, 10.0))
