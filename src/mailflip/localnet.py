"""Loopback ports for the local stand-ins (`mailflip up`, `mailflip sim ...`) and the
servers mailflip starts itself (Temporal dev server, Dovecot): one home for picking a
free port and for refusing one that is taken."""

from __future__ import annotations

import socket

from mailflip.errors import StackError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether `port` can be bound on `host` now."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def host_port(value: str, field: str) -> tuple[str, int]:
    """`HOST:PORT` -> (host, port); InvalidInput naming `field` otherwise."""
    from mailflip.errors import InvalidInput

    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(field, f"{value!r} is not HOST:PORT")
    return host, int(port)


def ensure_free(host: str, port: int, what: str, option: str) -> None:
    """StackError unless nothing listens on host:port (a local stand-in about to serve
    there would fail, or worse, a client would reach the other one)."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise StackError(f"port {port} is taken (a `{what}` already running?): stop "
                             f"it, or choose another with {option}")


def die_with_parent() -> None:
    """In a child before exec: SIGTERM when the thread that started it dies (Linux
    prctl PR_SET_PDEATHSIG), so that a process killed hard (SIGKILL) takes the servers
    it started along (the Temporal dev server, the Dovecots)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
    except OSError:
        pass  # not glibc: the explicit stop still applies
