"""Who may open a tenant mailbox over IMAP, as Exchange Online decides it (M365.md §5,
§9.3; IMAP-NOTES.md "Auth"): the pure part of the local Microsoft 365's IMAP front.

App-only access: SASL XOAUTH2 with `user=<mailbox address>` and a bearer token for
Exchange Online (`https://outlook.office365.com/.default`) that carries IMAP.AccessAsApp.
Exchange then wants FullAccess on that mailbox for the app's Exchange service principal
(`New-ServicePrincipal` + `Add-MailboxPermission`). Its answers:
- a bad, expired or foreign token, or one without IMAP.AccessAsApp, and a mailbox that
  is not there or not provisioned yet: `NO AUTHENTICATE failed.`;
- a good token without FullAccess on that mailbox: the login succeeds, then every
  command answers `User is authenticated but not connected.`;
- more than CONNECTIONS_PER_MAILBOX at once: refused.

The front (imap_front: sockets, TLS, proxying to the Dovecot that holds the mail,
throttling) asks this, over the simulator's plain data.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from mailflip.tenant.simulator.auth import Tokens
from mailflip.tenant.simulator.model import EXCHANGE_APP_ID

IMAP_ROLE = "IMAP.AccessAsApp"
CONNECTIONS_PER_MAILBOX = 20  # M365.md §9: ~20 concurrent IMAP connections per mailbox


class Verdict(Enum):
    CONNECTED = "connected"
    AUTH_FAILED = "AUTHENTICATE failed."
    NOT_CONNECTED = "User is authenticated but not connected."
    TOO_MANY = "Too many connections for this mailbox."


@dataclass(frozen=True)
class Access:
    verdict: Verdict
    mailbox: str = ""  # the mailbox's primary address when the user names one
    guid: str = ""  # its ExchangeGuid: what the mail host knows it by (addresses change)
    why: str = ""  # for the simulator's log: never shown to the client, never the token


def parse_xoauth2(payload: str) -> tuple[str, str]:
    """(user, bearer token) from the base64 SASL XOAUTH2 initial response
    `user=<u>^Aauth=Bearer <t>^A^A`; ValueError naming what is wrong."""
    try:
        text = base64.b64decode(payload.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("XOAUTH2: not base64 of UTF-8 text") from exc
    fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
    user, auth = fields.get("user", ""), fields.get("auth", "")
    scheme, _, token = auth.partition(" ")
    if not user:
        raise ValueError("XOAUTH2: no user=")
    if scheme.lower() != "bearer" or not token:
        raise ValueError("XOAUTH2: no auth=Bearer <token>")
    return user, token


def decide(tokens: Tokens, payload: str, now: float,
           open_connections: Mapping[str, int]) -> Access:
    """Exchange Online's answer to `AUTHENTICATE XOAUTH2 <payload>` at `now`, with
    `open_connections` (mailbox guid -> connections open to it)."""
    try:
        user, token = parse_xoauth2(payload)
    except ValueError as exc:
        return Access(Verdict.AUTH_FAILED, why=str(exc))
    grant = tokens.grant(f"Bearer {token}", EXCHANGE_APP_ID)
    if grant is None:
        return Access(Verdict.AUTH_FAILED, why="token invalid, expired or not for Exchange")
    if IMAP_ROLE not in grant.roles:
        return Access(Verdict.AUTH_FAILED, why=f"token without {IMAP_ROLE}")
    tenant = tokens.tenant(grant.tenant_id)
    if tenant is None:
        return Access(Verdict.AUTH_FAILED, why="token of an unknown tenant")
    wanted = user.lower()
    mailbox = next((m for m in tenant.exchange.visible_mailboxes(now)
                    if wanted in m.addresses()), None)
    if mailbox is None:
        return Access(Verdict.AUTH_FAILED, why=f"no mailbox {user} (or not provisioned yet)")
    exchange = tenant.exchange
    principals = {sp.guid for sp in exchange.service_principals.values()
                  if sp.app_id == grant.client_id}
    if not any(p.identity == mailbox.guid and p.trustee in principals
               and p.rights == "FullAccess" for p in exchange.permissions):
        return Access(Verdict.NOT_CONNECTED, mailbox.primary_smtp, mailbox.guid,
                      why="the app has no FullAccess on this mailbox")
    if open_connections.get(mailbox.guid, 0) >= CONNECTIONS_PER_MAILBOX:
        return Access(Verdict.TOO_MANY, mailbox.primary_smtp, mailbox.guid,
                      why=f"{CONNECTIONS_PER_MAILBOX} connections open already")
    return Access(Verdict.CONNECTED, mailbox.primary_smtp, mailbox.guid)
