"""Credentials at rest: only Fernet ciphertext reaches the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from mailflip.errors import InvalidInput
from mailflip.logs import mask_secrets_of

from .base import StoreBase
from .mirror import upsert
from .queries import CREDENTIALS, require_text
from .snapshot import require_order_id


class CredentialVault(StoreBase):
    def save_credentials(self, order_id: str, kind: str, secret: dict[str, Any]) -> None:
        """Store `secret` encrypted, replacing what was stored for (order, kind). Its
        secret fields are masked in this process's logs from now on (mailflip/logs.py)."""
        mask_secrets_of(secret)
        row = {
            "order_id": require_order_id(order_id),
            "kind": require_text("kind", kind),
            "ciphertext": self._cipher.encrypt(secret),
            "updated_at": self._clock(),
        }
        with self._write() as conn:
            upsert(conn, CREDENTIALS, [row])

    def load_credentials(self, order_id: str, kind: str) -> dict[str, Any]:
        query = select(CREDENTIALS.c.ciphertext).where(
            CREDENTIALS.c.order_id == order_id, CREDENTIALS.c.kind == kind
        )
        with self._read() as conn:
            ciphertext = conn.execute(query).scalar()
        if ciphertext is None:
            raise InvalidInput("kind", f"no {kind!r} credentials stored for order {order_id!r}")
        secret: dict[str, Any] = self._cipher.decrypt(ciphertext)
        mask_secrets_of(secret)
        return secret

    def purge_credentials(self, order_id: str, keep: tuple[str, ...] = ()) -> None:
        """Delete every stored credential of the order (R-COMPLETE-5D) but the `keep`
        kinds."""
        query = delete(CREDENTIALS).where(CREDENTIALS.c.order_id == order_id)
        if keep:
            query = query.where(CREDENTIALS.c.kind.not_in(keep))
        with self._write() as conn:
            conn.execute(query)
