"""The notifier's SMTP adapter against a real SMTP server (aiosmtpd) that wants TLS and
a login: STARTTLS and implicit TLS with the server's certificate checked against a CA
file, AUTH with the configured user; a wrong password is refused (the outbox retries)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailflip.localnet import free_port
from mailflip.notify.outbox import Outgoing
from mailflip.notify.smtp import SmtpDeliver
from mailflip.tenant.simulator.local import write_self_signed

USER, PASSWORD = "mailflip", "s3cret-smtp"


class Keep:
    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        login = session.auth_data.login.decode() if session.authenticated else ""
        self.got.append((login, envelope.content))
        return "250 OK"


def check(server: Any, session: Any, envelope: Any, mechanism: str,
          auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    c, k = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_self_signed(c, k, "127.0.0.1")
    return c, k


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[Controller, Keep]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    keep = Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, auth_required=True, authenticator=check)
    controller.start()
    try:
        yield controller, keep
    finally:
        controller.stop()


def outgoing() -> Outgoing:
    return Outgoing("order-1/poc/x", "pat@contoso.com", "Subject", "Body")


async def test_starttls_and_login_deliver_and_a_wrong_password_is_refused(
        starttls_server: tuple[Controller, Keep], cert: tuple[Path, Path]) -> None:
    controller, keep = starttls_server
    good = SmtpDeliver("127.0.0.1", controller.port, "m@msp.example", security="starttls",
                       user=USER, password=PASSWORD, ca_file=cert[0])
    await good(outgoing())
    assert [who for who, _ in keep.got] == [USER]
    assert PASSWORD not in repr(good)
    wrong = SmtpDeliver("127.0.0.1", controller.port, "m@msp.example", security="starttls",
                        user=USER, password="nope", ca_file=cert[0])
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await wrong(outgoing())
    untrusted = SmtpDeliver("127.0.0.1", controller.port, "m@msp.example",
                            security="starttls", user=USER, password=PASSWORD)
    with pytest.raises(ssl.SSLCertVerificationError):  # a self-signed cert, no CA given
        await untrusted(outgoing())
    plain = SmtpDeliver("127.0.0.1", controller.port, "m@msp.example")
    with pytest.raises(smtplib.SMTPException):  # the server wants STARTTLS first
        await plain(outgoing())
    assert len(keep.got) == 1


async def test_implicit_tls_delivers(cert: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    keep = Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=free_port(),
                            ssl_context=context)
    controller.start()
    try:
        await SmtpDeliver("127.0.0.1", controller.port, "m@msp.example", security="tls",
                          ca_file=cert[0])(outgoing())
    finally:
        controller.stop()
    assert len(keep.got) == 1
