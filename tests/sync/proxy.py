"""A small fault-injecting TCP proxy in front of Dovecot.

It frames both directions as IMAP lines + literals, so it can
  - answer chosen commands itself (throttle / UNAVAILABLE / BYE) and hang up,
  - swallow the server's OK to an APPEND and hang up (the APPEND did happen),
  - hide UIDPLUS (capability and APPENDUID) from the client,
  - slow every APPENDed message down (a pass that takes long enough to be interrupted).
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


@dataclass
class Rule:
    pattern: re.Pattern[bytes]  # matched against a command line without its tag
    reply: (
        bytes  # whole line; "{tag}" is replaced, e.g. b"{tag} NO [UNAVAILABLE] ..." or b"* BYE ..."
    )
    times: int
    hang_up: bool = True
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    rules: list[Rule] = field(default_factory=list)
    swallow_append_ok: int = 0  # this many APPEND completions are lost (connection dropped)
    hide_uidplus: bool = False
    refuse_marker: bytes | None = None  # an APPEND carrying a message with this is refused
    outage_after_swallow: bool = False  # once an APPEND reply was lost, no connection works
    append_delay_s: float = 0.0  # a slow target: each APPENDed message waits this long
    connections: int = 0
    swallowed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, user: str) -> str:
        return f"imap://{user}:pw@127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                down = self.outage_after_swallow and self.swallowed > 0
            if down:  # the network is down: accept, then hang up at once
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            conn = _Conn(self, client, server)
            threading.Thread(target=conn.client_to_server, daemon=True).start()
            threading.Thread(target=conn.server_to_client, daemon=True).start()

    def take_rule(self, line: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.hits < rule.times and rule.pattern.search(line):
                    rule.hits += 1
                    return rule
        return None

    def take_swallow(self) -> bool:
        with self._lock:
            if self.swallow_append_ok > 0:
                self.swallow_append_ok -= 1
                self.swallowed += 1
                return True
        return False


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                return None
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class _Conn:
    def __init__(self, proxy: FaultProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy, self.client, self.server = proxy, client, server
        self.append_tags: set[bytes] = set()
        self.dead = threading.Event()

    def hang_up(self) -> None:
        self.dead.set()
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def client_to_server(self) -> None:
        reader, continuing, appending = _Reader(self.client), False, False
        try:
            while not self.dead.is_set():
                line = reader.line()
                if line is None:
                    break
                if not continuing:
                    tag, _, rest = line.partition(b" ")
                    appending = rest.upper().startswith(b"APPEND")
                    if appending:
                        self.append_tags.add(tag)
                    rule = None if _LITERAL.search(line) else self.proxy.take_rule(rest)
                    if rule is not None:
                        self.client.sendall(rule.reply.replace(b"{tag}", tag) + b"\r\n")
                        if rule.hang_up:
                            break
                        continue
                if (
                    not continuing
                    and self.proxy.refuse_marker
                    and line.split(b" ", 2)[1:2] == [b"APPEND"]
                ):
                    if not self._filter_append(reader, line):
                        break
                    continue
                literal = _LITERAL.search(line)
                if literal and appending and self.proxy.append_delay_s:
                    self.dead.wait(self.proxy.append_delay_s)  # a slow link, not a wait for state
                self.server.sendall(line)
                continuing = literal is not None
                if literal:
                    data = reader.exactly(int(literal.group(1)))
                    if data is None:
                        break
                    self.server.sendall(data)
        except OSError:
            pass
        self.hang_up()

    def _filter_append(self, reader: _Reader, line: bytes) -> bool:
        """Buffer a whole (LITERAL+) APPEND; refuse it like a server would, or pass it on."""
        pieces = [line]
        while literal := _LITERAL.search(pieces[-1]):
            data = reader.exactly(int(literal.group(1)))
            rest = reader.line()
            if data is None or rest is None:
                return False
            pieces += [data, rest]
        if any(self.proxy.refuse_marker in p for p in pieces[1::2]):
            tag = line.split(b" ", 1)[0]
            self.client.sendall(
                tag + b" NO [LIMIT] Maximum size of appendable message has been exceeded\r\n"
            )
            return True
        self.server.sendall(b"".join(pieces))
        return True

    def server_to_client(self) -> None:
        reader = _Reader(self.server)
        try:
            while not self.dead.is_set():
                line = reader.line()
                if line is None:
                    break
                tag = line.split(b" ", 1)[0]
                if tag in self.append_tags and line.split(b" ", 2)[1:2] == [b"OK"]:
                    self.append_tags.discard(tag)
                    if self.proxy.take_swallow():
                        break
                if self.proxy.hide_uidplus:
                    line = line.replace(b" UIDPLUS", b"")
                    line = re.sub(rb"\[APPENDUID \d+ [0-9:,]+\] ?", b"", line)
                self.client.sendall(line)
                literal = _LITERAL.search(line)
                if literal:
                    data = reader.exactly(int(literal.group(1)))
                    if data is None:
                        break
                    self.client.sendall(data)
        except OSError:
            pass
        self.hang_up()
