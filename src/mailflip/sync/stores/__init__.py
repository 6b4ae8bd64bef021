"""Mail store adapters behind the MailStore port (stores/base.py)."""

from __future__ import annotations

from mailflip.sync.endpoints import Endpoint
from mailflip.sync.stores.base import MailStore


def open_store(endpoint: Endpoint, timeout_s: float) -> MailStore:
    if endpoint.is_imap:
        from mailflip.sync.stores.imap import ImapStore

        return ImapStore(endpoint, timeout_s)
    from mailflip.sync.stores.maildir import MaildirStore

    return MaildirStore(endpoint)
