"""ImapStore: one IMAP connection (IMAPClient), faults mapped to StoreFault & co."""

from __future__ import annotations

import functools
import imaplib
import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.response_parser import parse_fetch_response

from mailflip.sync.endpoints import Endpoint
from mailflip.sync.stores.base import (
    AppendResult,
    FolderRef,
    FolderStatus,
    MessageMeta,
    OutgoingMessage,
    StoreFatal,
    StoreFault,
    StoreRefused,
)
from mailflip.sync.stores.fetch import parse_fetch
from mailflip.sync.stores.wire import (
    APPENDUID_RE,
    classify,
    expand_uid_set,
    imap_date,
    parse_message_id,
    parse_subject,
    uid_set,
)

T = TypeVar("T")
SUBJECT_ITEM = b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"
META_ITEMS = [b"RFC822.SIZE", b"INTERNALDATE", b"FLAGS", b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
META_BATCH = 1000


def _guarded(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(self: ImapStore, *args: Any, **kwargs: Any) -> T:
        try:
            return fn(self, *args, **kwargs)
        except (StoreFault, StoreRefused, StoreFatal):
            raise
        except (imaplib.IMAP4.error, OSError, EOFError, ValueError) as exc:
            mapped = classify(exc)
            if isinstance(mapped, StoreFault):
                self.broken = True
            raise mapped from exc

    return wrapper


def _quote(wire: str) -> bytes:
    return b'"' + wire.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class LoginRefused(StoreFatal):
    """The server refused the login (wrong password, token refused): permanent."""


class ImapStore:
    def __init__(self, endpoint: Endpoint, timeout_s: float) -> None:
        self.broken = False
        token = endpoint.bearer()  # before connecting: a token service down opens nothing
        self._connect(endpoint, timeout_s)
        try:
            self._login(endpoint, token)
        except LoginRefused:
            if not token or endpoint.oauth_renew is None:
                raise
            # XOAUTH2 refused: once more with a token issued now (the cached one may
            # predate the app's permission); refused again, it is refused for good
            renewed = endpoint.oauth_renew()
            self._connect(endpoint, timeout_s)
            self._login(endpoint, renewed, " (a newly issued token too)")

    def _connect(self, endpoint: Endpoint, timeout_s: float) -> None:
        try:
            self.client = IMAPClient(
                endpoint.host,
                endpoint.port,
                ssl=endpoint.scheme == "imaps",
                ssl_context=ssl.create_default_context(cafile=endpoint.ca_file)
                if endpoint.ca_file else None,
                timeout=timeout_s,
                use_uid=True,
            )
        except (OSError, imaplib.IMAP4.error) as exc:
            raise StoreFault(f"connect to {endpoint.display}: {exc}") from exc
        self.client.folder_encode = False  # wire names stay mUTF-7; names.py decodes at the edge
        self.client.normalise_times = False
        if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
            # imapclient turns imaplib's own debug output on (level 5) and drops it in a
            # logger: imaplib then formats a repr of every response, message bodies and
            # all, for nothing (~10 % of a copy's time in the profile, bench/README.md)
            self.client._imap.debug = 0

    def _login(self, endpoint: Endpoint, token: str | None, also: str = "") -> None:
        try:
            if token:
                self.client.oauth2_login(endpoint.user, token)
            else:
                self.client.login(endpoint.user, endpoint.password or "")
        except LoginError as exc:
            mapped = classify(exc)
            self.close()
            if isinstance(mapped, StoreFault):  # throttled or UNAVAILABLE at login: retry later
                raise mapped from exc
            raise LoginRefused(f"login to {endpoint.display} refused{also}: {exc}") from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise StoreFault(f"login to {endpoint.display}: {exc}") from exc
        self._after_login(endpoint)

    def _after_login(self, endpoint: Endpoint) -> None:
        try:  # the first commands after login (Exchange may refuse them: classify)
            caps = {c.upper() for c in self.client.capabilities()}
            self.supports_uidplus = b"UIDPLUS" in caps
            self.supports_condstore = b"CONDSTORE" in caps or b"QRESYNC" in caps
            self._multiappend = b"MULTIAPPEND" in caps
            self._literal_plus = b"LITERAL+" in caps
            self.prefix, self.delimiter = "", "/"
            if b"NAMESPACE" in caps:
                personal = self.client.namespace().personal
                if personal:
                    self.prefix = _text(personal[0][0] or "")
                    self.delimiter = _text(personal[0][1] or "/")
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            mapped = classify(exc)
            raise (mapped if isinstance(mapped, StoreFault) else StoreFatal(
                f"{endpoint.display}: {exc}")) from exc

    def close(self) -> None:
        try:
            if self.broken:
                self.client.shutdown()
            else:
                self.client.logout()
        except Exception:  # noqa: BLE001 - closing a dead socket must never fail the caller
            try:
                self.client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    @_guarded
    def list_folders(self) -> list[FolderRef]:
        out = []
        for flags, delim, name in self.client.list_folders():
            out.append(
                FolderRef(
                    wire=_text(name),
                    delimiter=_text(delim) if delim else None,
                    flags=frozenset(_text(f) for f in flags),
                )
            )
            if delim:
                self.delimiter = _text(delim)
        return out

    @_guarded
    def create_folder(self, wire: str) -> None:
        try:
            self.client.create_folder(wire)
        except imaplib.IMAP4.error as exc:
            if "exist" not in str(exc).lower():  # a concurrent pass created it: fine
                raise
        try:
            self.client.subscribe_folder(wire)
        except imaplib.IMAP4.error:
            pass  # subscriptions are cosmetic

    @_guarded
    def status(self, wire: str) -> FolderStatus:
        items = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"]
        if self.supports_condstore:
            items.append(b"HIGHESTMODSEQ")
        st = self.client.folder_status(wire, items)
        modseq = st.get(b"HIGHESTMODSEQ")
        return FolderStatus(
            int(st[b"UIDVALIDITY"]),
            int(st[b"UIDNEXT"]),
            int(st[b"MESSAGES"]),
            int(modseq) if modseq is not None else None,
        )

    @_guarded
    def select(self, wire: str, readonly: bool) -> tuple[int, frozenset[str] | None]:
        info = self.client.select_folder(wire, readonly=readonly)
        perm = info.get(b"PERMANENTFLAGS")
        flags = None if perm is None or b"\\*" in perm else frozenset(_text(f) for f in perm)
        return int(info[b"UIDVALIDITY"]), flags

    def _fetch(self, uids: str, items: list[bytes], modifiers: str | None = None) -> dict[int, Any]:
        # IMAPClient.fetch() drops results for UIDs it was not given by number, so
        # ranges like "5:*" go through the same steps without that filter.
        args = ["UID", "FETCH", uids, "(" + " ".join(i.decode() for i in items) + ")"]
        if modifiers:
            args.append(f"({modifiers})")
        imap = self.client._imap
        tag = imap._command(*args)
        typ, data = imap._command_complete("FETCH", tag)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH {typ}: {data!r}")
        typ, data = imap._untagged_response(typ, data, "FETCH")
        return parse_fetch(data)

    @_guarded
    def uid_at(self, seq: int) -> int | None:
        imap = self.client._imap  # a sequence-number FETCH: IMAPClient only sends UID FETCH
        tag = imap._command("FETCH", str(seq), "(UID)")
        try:
            typ, data = imap._command_complete("FETCH", tag)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:  # BAD "Invalid messageset": past the end
            return None
        if typ != "OK":
            return None
        typ, data = imap._untagged_response(typ, data, "FETCH")
        uids = list(parse_fetch_response(data, False, True))
        return int(uids[0]) if uids else None

    @_guarded
    def fetch_flags(self, lo: int = 1, hi: int | None = None) -> dict[int, frozenset[str]]:
        data = self._fetch(f"{lo}:{hi if hi is not None else '*'}", [b"FLAGS"])
        # "lo:*" names the last message even when its UID is below lo: keep the range only.
        return {
            uid: frozenset(_text(f) for f in item.get(b"FLAGS", ()))
            for uid, item in data.items()
            if uid >= lo and (hi is None or uid <= hi)
        }

    @_guarded
    def fetch_meta(self, uids: Iterable[int] | str) -> list[MessageMeta]:
        if isinstance(uids, str):
            return self._meta(self._fetch(uids, META_ITEMS))
        ordered = sorted(uids)
        out: list[MessageMeta] = []
        for i in range(0, len(ordered), META_BATCH):
            chunk = uid_set(ordered[i : i + META_BATCH])
            out.extend(self._meta(self._fetch(chunk, META_ITEMS)))
        return out

    @staticmethod
    def _meta(data: Mapping[int, Mapping[bytes, Any]]) -> list[MessageMeta]:
        out = []
        for uid, item in data.items():
            header = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), None)
            date = item.get(b"INTERNALDATE")
            out.append(
                MessageMeta(
                    uid=uid,
                    size=int(item.get(b"RFC822.SIZE", 0)),
                    internaldate=date if isinstance(date, datetime) else None,
                    flags=frozenset(_text(f) for f in item.get(b"FLAGS", ())),
                    message_id=parse_message_id(header),
                )
            )
        return out

    @_guarded
    def fetch_subjects(self, uids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ordered = sorted(uids)
        for i in range(0, len(ordered), META_BATCH):
            data = self._fetch(uid_set(ordered[i : i + META_BATCH]), [SUBJECT_ITEM])
            for uid, item in data.items():
                header = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), None)
                out[uid] = parse_subject(header)
        return out

    @_guarded
    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        data = self._fetch(uid_set(uids), [b"BODY.PEEK[]"])
        return {uid: item[b"BODY[]"] for uid, item in data.items() if b"BODY[]" in item}

    @_guarded
    def append(self, wire: str, messages: list[OutgoingMessage]) -> AppendResult:
        if len(messages) > 1 and not self._multiappend:
            uids: list[int] = []
            uidvalidity = None
            for message in messages:
                one = self.append(wire, [message])
                if one.uids is None:
                    return AppendResult(one.uidvalidity, None)
                uids.extend(one.uids)
                uidvalidity = one.uidvalidity
            return AppendResult(uidvalidity, uids)
        return self._append_command(wire, messages)

    def _append_command(self, wire: str, messages: list[OutgoingMessage]) -> AppendResult:
        # One APPEND (MULTIAPPEND when several) sent piece by piece: each body goes to
        # the socket as is, never concatenated into a second copy.
        imap = self.client._imap  # imaplib sends one literal per command; we need many
        tag = imap._new_tag()
        imap.send(tag + b" APPEND " + _quote(wire))
        for message in messages:
            flags = " ".join(sorted(message.flags)).encode("ascii")
            date = f' "{imap_date(message.internaldate)}"'.encode() if message.internaldate else b""
            marker = b"+}" if self._literal_plus else b"}"
            imap.send(
                b" ("
                + flags
                + b")"
                + date
                + b" {"
                + str(len(message.body)).encode()
                + marker
                + b"\r\n"
            )
            if not self._literal_plus:
                self._await_continuation(imap, tag)
            imap.send(message.body)
        imap.send(b"\r\n")
        try:
            typ, data = imap._command_complete("APPEND", tag)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:  # BAD
            raise classify(exc) from exc
        text = " ".join(_text(d) for d in data if d)
        if typ != "OK":
            mapped = classify(imaplib.IMAP4.error(f"APPEND {typ}: {text}"))
            raise mapped
        match = APPENDUID_RE.search(text)
        if not match:
            return AppendResult(None, None)
        uids = expand_uid_set(match.group(2))
        return AppendResult(int(match.group(1)), uids if len(uids) == len(messages) else None)

    @staticmethod
    def _await_continuation(imap: imaplib.IMAP4, tag: bytes) -> None:
        # typeshed types the values as list[bytes]; imaplib stores (typ, data) tuples
        # once the tagged response arrives (None before).
        tagged = cast("dict[bytes, tuple[str, list[bytes]] | None]", imap.tagged_commands)
        while imap._get_response():  # returns None once a "+" continuation arrives
            done = tagged.get(tag)
            if done:
                typ, data = done
                raise classify(imaplib.IMAP4.error(f"APPEND {typ}: {data!r}"))

    @_guarded
    def store_flags(self, uids: list[int], flags: frozenset[str], add: bool) -> None:
        if not uids or not flags:
            return
        method = self.client.add_flags if add else self.client.remove_flags
        method(uid_set(uids), sorted(flags), silent=True)


def socket_error_types() -> tuple[type[BaseException], ...]:
    return (OSError, socket.timeout, imaplib.IMAP4.abort)
