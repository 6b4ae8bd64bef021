"""The notification outbox: each key is claimed once, durably, then marked sent.

A notifier claims before it sends; a crash after the claim leaves a `pending` row
that `pending_notifications()` hands to whoever retries.
"""

from __future__ import annotations

from sqlalchemy import select, update

from mailflip.errors import InvalidInput

from .base import StoreBase
from .mirror import insert_one_absent
from .queries import NOTIFICATIONS, notification_row, require_text
from .rows import NotificationRow
from .snapshot import require_order_id


class NotificationOutbox(StoreBase):
    def claim_notification(
        self,
        key: str,
        order_id: str,
        template: str,
        recipient: str,
        trigger: str,
        subject: str,
        body: str,
    ) -> bool:
        """Queue a notification; True only for the first claim of `key`, ever."""
        row = {
            "key": require_text("key", key),
            "order_id": require_order_id(order_id),
            "template": require_text("template", template),
            "recipient": require_text("recipient", recipient),
            "trigger": require_text("trigger", trigger),
            "subject": subject,
            "body": body,
            "state": "pending",
            "created_at": self._clock(),
            "sent_at": None,
        }
        with self._write() as conn:
            return insert_one_absent(conn, NOTIFICATIONS, row, ["key"])

    def mark_notification_sent(self, key: str) -> None:
        """Mark a claimed notification sent (again: no change)."""
        with self._write() as conn:
            done = conn.execute(
                update(NOTIFICATIONS)
                .where(NOTIFICATIONS.c.key == key, NOTIFICATIONS.c.state == "pending")
                .values(state="sent", sent_at=self._clock())
            ).rowcount
            if (
                done == 0
                and conn.execute(
                    select(NOTIFICATIONS.c.key).where(NOTIFICATIONS.c.key == key)
                ).first()
                is None
            ):
                raise InvalidInput("key", f"no notification claimed with key {key!r}")

    def pending_notifications(self) -> list[NotificationRow]:
        query = (
            select(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.state == "pending")
            .order_by(NOTIFICATIONS.c.created_at, NOTIFICATIONS.c.key)
        )
        with self._read() as conn:
            return [notification_row(r) for r in conn.execute(query).mappings()]

    def notifications(self, order_id: str) -> list[NotificationRow]:
        query = (
            select(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.order_id == order_id)
            .order_by(NOTIFICATIONS.c.created_at, NOTIFICATIONS.c.key)
        )
        with self._read() as conn:
            return [notification_row(r) for r in conn.execute(query).mappings()]
