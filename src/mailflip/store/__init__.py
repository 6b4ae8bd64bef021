"""The store: SQLAlchemy tables, Alembic migrations and the SqlStore repository."""

from .migrate import migrate
from .repositories import SqlStore, create_store
from .rows import AlertRow, MailboxRow, NotificationRow, OrderRow

__all__ = [
    "AlertRow",
    "MailboxRow",
    "NotificationRow",
    "OrderRow",
    "SqlStore",
    "create_store",
    "migrate",
]
