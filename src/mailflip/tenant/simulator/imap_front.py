"""The local Microsoft 365's IMAP endpoint: what outlook.office365.com:993 is to a real
tenant, on this machine.

IMAP over TLS (1.2 or newer) with the simulator's certificate. Before login it answers as
Exchange Online does (its greeting, CAPABILITY, LOGIN refused: basic auth is off) and
takes `AUTHENTICATE XOAUTH2` (initial response or continuation); `imap_access.decide`
says who gets in. A mailbox that may be opened is proxied to the Dovecot that holds the
tenant's mail: the front logs into Dovecot as the mailbox (its ExchangeGuid, which
survives address changes) with a one-use session token that Dovecot's oauth2 passdb
introspects at the simulator (`/_imap/introspect`). Dovecot never sees the client's
token, which names no mailbox.

In front of Dovecot, Exchange Online's limits (Knobs): a token bucket of commands per
mailbox (`BAD Request is throttled. Suggested Backoff Time: N milliseconds`, then a
hang-up; the mailbox stays throttled for that long), a maximum message size on APPEND
(`NO Maximum size of appendable message has been exceeded`), 20 connections per
mailbox, and Exchange's capability list instead of Dovecot's (no CONDSTORE, no
MULTIAPPEND).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import re
import secrets
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mailflip.mail.dovecot import EXCHANGE_FOLDERS, DovecotOptions, start_dovecot, stop_dovecot
from mailflip.tenant.simulator.auth import Tokens
from mailflip.tenant.simulator.config import Clock, Knobs
from mailflip.tenant.simulator.imap_access import Verdict, decide
from mailflip.tenant.simulator.throttle import TokenBucket

log = logging.getLogger("mailflip.sim.imap")

GREETING = b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n"
CAPABILITIES = (b"IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT "
                b"CHILDREN IDLE NAMESPACE LITERAL+")
SESSION_TOKEN_TTL_S = 30.0
LINE_LIMIT = 16 * 1024 * 1024  # a SEARCH answer over thousands of UIDs is one long line
_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")
_CAPABILITY_CODE = re.compile(rb"\[CAPABILITY [^\]]*\] ?", re.IGNORECASE)


class ImapSessions:
    """One-use tokens the front hands Dovecot for a mailbox it has let in."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}

    def mint(self, user: str) -> str:
        now = self._clock()
        self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (user, now + SESSION_TOKEN_TTL_S)
        return token

    def take(self, token: str) -> str | None:
        """The mailbox the token was minted for, once, while fresh; else None."""
        user, until = self._tokens.pop(token, ("", 0.0))
        return user if user and until > self._clock() else None

    def introspect(self, token: str) -> dict[str, object]:
        """RFC 7662's answer, as Dovecot's oauth2 passdb reads it."""
        user = self.take(token)
        return {"active": True, "username": user} if user else {"active": False}


def _command(line: bytes) -> tuple[bytes, bytes, bytes]:
    """(tag, upper-case command, the rest without CRLF)."""
    tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
    command, _, args = rest.partition(b" ")
    return tag, command.upper(), args


class ImapFront:
    def __init__(self, tokens: Tokens, sessions: ImapSessions, upstream: tuple[str, int],
                 knobs: Knobs, clock: Clock) -> None:
        self._tokens = tokens
        self._sessions = sessions
        self._upstream = upstream
        self._knobs = knobs
        self._clock = clock
        self.open: Counter[str] = Counter()  # mailbox guid -> connections proxied now
        self._buckets: dict[str, TokenBucket] = {}
        self._throttled_until: dict[str, float] = {}

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection, start to end (asyncio.start_server's callback)."""
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ssl.SSLError, ValueError):
            pass  # the client went away or sent garbage: nothing to answer
        finally:
            writer.close()

    async def _session(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        while line := await reader.readline():
            tag, command, args = _command(line)
            if command == b"AUTHENTICATE":
                if await self._authenticate(reader, writer, tag, args):
                    return
            elif not await _not_authenticated(reader, writer, line, tag, command):
                return

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            tag: bytes, args: bytes) -> bool:
        """False: refused, the client may try again; True: the session is over."""
        mechanism, _, payload = args.partition(b" ")
        if mechanism.upper() != b"XOAUTH2":
            writer.write(tag + b" NO AUTHENTICATE failed.\r\n")
            return False
        if not payload:
            writer.write(b"+ \r\n")
            payload = (await reader.readline()).strip()
        access = decide(self._tokens, payload.decode("ascii", "replace"), self._clock(),
                        self.open)
        # a refusal is worth seeing in the stack's log (why: the token, the mailbox, ...)
        log.log(logging.WARNING if access.verdict is Verdict.AUTH_FAILED else logging.INFO,
                "IMAP login to %s: %s%s", access.mailbox or "(no mailbox)",
                access.verdict.name, f" ({access.why})" if access.why else "")
        if access.verdict is Verdict.AUTH_FAILED:
            writer.write(tag + b" NO AUTHENTICATE failed.\r\n")
            return False
        if access.verdict is Verdict.TOO_MANY:  # the client may try again later
            writer.write(tag + b" NO [UNAVAILABLE] " + access.verdict.value.encode() + b"\r\n")
            return True
        if access.verdict is Verdict.NOT_CONNECTED:
            writer.write(tag + b" OK AUTHENTICATE completed.\r\n")
            await _not_connected(reader, writer)
            return True
        if (backoff := self._throttled(access.guid)) is not None:
            writer.write(tag + _throttled(backoff))
            return True
        upstream = await self._login_upstream(access.guid)
        if upstream is None:
            writer.write(tag + b" NO AUTHENTICATE failed.\r\n")
            return True
        writer.write(tag + b" OK AUTHENTICATE completed.\r\n")
        self.open[access.guid] += 1
        try:
            await self._proxy(access.guid, reader, writer, *upstream)
        finally:
            self.open[access.guid] -= 1
            upstream[1].close()
        return True

    async def _login_upstream(self, guid: str
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        reader, writer = await asyncio.open_connection(*self._upstream, limit=LINE_LIMIT)
        await reader.readline()  # Dovecot's greeting
        sasl = f"user={guid}\x01auth=Bearer {self._sessions.mint(guid)}\x01\x01"
        writer.write(b"m1 AUTHENTICATE XOAUTH2 " + base64.b64encode(sasl.encode()) + b"\r\n")
        while line := await reader.readline():
            if line.startswith(b"+"):  # a refusal's details: answer empty to get the NO
                writer.write(b"\r\n")
            elif line.startswith(b"m1 "):
                if line.startswith(b"m1 OK"):
                    return reader, writer
                log.warning("the mail host refused %s: %s", guid, line.strip().decode())
                break
        writer.close()
        return None

    async def _proxy(self, guid: str, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter, server_r: asyncio.StreamReader,
                     server_w: asyncio.StreamWriter) -> None:
        tasks = {asyncio.create_task(self._commands(guid, client_r, client_w, server_w)),
                 asyncio.create_task(_replies(server_r, client_w))}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()

    async def _commands(self, guid: str, client_r: asyncio.StreamReader,
                        client_w: asyncio.StreamWriter, server_w: asyncio.StreamWriter) -> None:
        """Client to Dovecot, a command at a time (literals passed through whole)."""
        while line := await client_r.readline():
            tag, command, _ = _command(line)
            if (backoff := self._admit(guid)) is not None:
                client_w.write(tag + _throttled(backoff))
                await client_w.drain()
                return
            literal = _LITERAL.search(line)
            limit = self._knobs.imap_max_message_bytes
            if command == b"APPEND" and literal and limit and int(literal[1]) > limit:
                client_w.write(tag + b" NO Maximum size of appendable message has been "
                               b"exceeded\r\n")
                if literal[2]:  # LITERAL+: the message is on its way; let it pass by
                    await _skip_literals(client_r, int(literal[1]))
                continue
            server_w.write(line)
            while literal:
                await server_w.drain()  # a synchronising literal waits for Dovecot's "+"
                server_w.write(await client_r.readexactly(int(literal[1])))
                line = await client_r.readline()
                server_w.write(line)
                literal = _LITERAL.search(line)
            await server_w.drain()

    def _admit(self, guid: str) -> float | None:
        """None when the mailbox may send another command; else the back-off in seconds."""
        if (backoff := self._throttled(guid)) is not None:
            return backoff
        rate, burst = self._knobs.imap_commands_per_s, self._knobs.imap_command_burst
        if rate <= 0 or burst <= 0:
            return None
        bucket = self._buckets.get(guid)
        if bucket is None:
            bucket = self._buckets[guid] = TokenBucket(burst, rate, self._clock)
        if bucket.take(1) is None:
            return None
        backoff = burst / 4 / rate  # throttled until a quarter of the budget is back
        self._throttled_until[guid] = self._clock() + backoff
        return backoff

    def _throttled(self, guid: str) -> float | None:
        left = self._throttled_until.get(guid, 0.0) - self._clock()
        return left if left > 0 else None


def _throttled(backoff_s: float) -> bytes:
    ms = max(1, math.ceil(backoff_s * 1000))
    return f" BAD Request is throttled. Suggested Backoff Time: {ms} milliseconds\r\n".encode()


async def _replies(server_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    """Dovecot to the client, with Exchange's capabilities in place of Dovecot's."""
    while line := await server_r.readline():
        if line[:13].upper() == b"* CAPABILITY ":
            line = b"* CAPABILITY " + CAPABILITIES + b"\r\n"
        elif b"[CAPABILITY " in line[:64].upper():
            line = _CAPABILITY_CODE.sub(b"", line)
        client_w.write(line)
        while literal := _LITERAL.search(line):
            client_w.write(await server_r.readexactly(int(literal[1])))
            line = await server_r.readline()
            client_w.write(line)
        await client_w.drain()


async def _skip_literals(reader: asyncio.StreamReader, size: int) -> None:
    while True:
        await reader.readexactly(size)
        literal = _LITERAL.search(await reader.readline())
        if not literal:
            return
        size = int(literal[1])


async def _not_authenticated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                             line: bytes, tag: bytes, command: bytes) -> bool:
    """Answer one command before login as Exchange Online does; False: hang up."""
    if literal := _LITERAL.search(line):  # e.g. LOGIN with a literal password: refused
        if not literal[2]:
            writer.write(b"+ Ready for additional command text.\r\n")
        await _skip_literals(reader, int(literal[1]))
    if command == b"CAPABILITY":
        writer.write(b"* CAPABILITY " + CAPABILITIES + b"\r\n" + tag
                     + b" OK CAPABILITY completed.\r\n")
    elif command == b"NOOP":
        writer.write(tag + b" OK NOOP completed.\r\n")
    elif command == b"ID":
        writer.write(b"* ID NIL\r\n" + tag + b" OK ID completed.\r\n")
    elif command == b"LOGOUT":
        writer.write(b"* BYE Microsoft Exchange Server IMAP4 server signing off.\r\n" + tag
                     + b" OK LOGOUT completed.\r\n")
        await writer.drain()
        return False
    elif command == b"LOGIN":  # basic authentication is off in Exchange Online
        writer.write(tag + b" NO LOGIN failed.\r\n")
    else:
        writer.write(tag + b" BAD Command received in Invalid state.\r\n")
    await writer.drain()
    return True


async def _not_connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Authenticated, with no rights on the mailbox: every command fails until LOGOUT."""
    while line := await reader.readline():
        tag, command, _ = _command(line)
        if command == b"LOGOUT":
            writer.write(b"* BYE Microsoft Exchange Server IMAP4 server signing off.\r\n"
                         + tag + b" OK LOGOUT completed.\r\n")
            await writer.drain()
            return
        writer.write(tag + b" BAD User is authenticated but not connected.\r\n")
        await writer.drain()


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # Exchange Online refuses 1.0 / 1.1
    context.load_cert_chain(cert, key)
    return context


@asynccontextmanager
async def imap_endpoint(app: Any, *, host: str, port: int, cert: Path, key: Path,
                        mail_dir: Path, introspection_url: str) -> AsyncIterator[ImapFront]:
    """Serve the tenant's mailboxes over IMAP on `host:port` until the block ends: a
    Dovecot (its mail kept in `mail_dir`) behind the front. `app` is the simulator's
    (create_app), served at `introspection_url`'s host."""
    options = DovecotOptions(password=None, introspection_url=introspection_url,
                             introspection_ca_file=cert, folders=EXCHANGE_FOLDERS,
                             auto_create=True)
    dovecot = await asyncio.to_thread(start_dovecot, options, mail_dir)
    try:
        front = ImapFront(app.state.tokens, app.state.imap_sessions,
                          (dovecot.host, dovecot.port), app.state.knobs, app.state.clock)
        server = await asyncio.start_server(front.client, host, port,
                                            ssl=tls_context(cert, key), limit=LINE_LIMIT)
        try:
            yield front
        finally:
            server.close()
            await server.wait_closed()
    finally:
        await asyncio.to_thread(stop_dovecot, dovecot, False)
