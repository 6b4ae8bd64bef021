"""Ledger tables and row types (SQLAlchemy Core; any SQLAlchemy backend)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
folders = Table(
    "sync_folders",
    metadata,
    Column("mailbox", String(200), primary_key=True),
    Column("src_folder", String(1000), primary_key=True),
    Column("tgt_folder", String(1000), nullable=False),
    Column("src_uidvalidity", BigInteger),
    Column("src_uidnext", BigInteger),
    Column("src_modseq", BigInteger),
    Column("tgt_uidvalidity", BigInteger),
)
messages = Table(
    "sync_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(200), nullable=False),
    Column("src_folder", String(1000), nullable=False),
    Column("src_uidvalidity", BigInteger, nullable=False),
    Column("src_uid", BigInteger, nullable=False),
    Column("message_id", Text),
    Column("size", BigInteger, nullable=False),
    Column("content_hash", String(64)),
    Column("flags", Text, nullable=False, default=""),
    Column("tgt_folder", String(1000), nullable=False),
    Column("tgt_uidvalidity", BigInteger),
    Column("tgt_uid", BigInteger),
    Column(
        "tgt_floor", BigInteger
    ),  # target UIDNEXT before the APPEND: where to look after a crash
    Column("state", String(10), nullable=False),  # intent | done
    UniqueConstraint("mailbox", "src_folder", "src_uidvalidity", "src_uid"),
)
# Window diffs scan the unique key's (mailbox, src_folder, src_uidvalidity, src_uid) range;
# these serve "any intents in this folder?" and "which target UIDs do we own?".
indexes = (
    Index("ix_sync_messages_state", messages.c.mailbox, messages.c.src_folder, messages.c.state),
    Index(
        "ix_sync_messages_target",
        messages.c.mailbox,
        messages.c.tgt_folder,
        messages.c.tgt_uidvalidity,
        messages.c.tgt_uid,
    ),
)
# Messages the target refused (over its size limit, rejected by the server) or the pass's
# options excluded as too large, with the reason: reconciliation grades them `skipped`.
# A later copy of the same message makes its row stale (the done row wins).
skips = Table(
    "sync_skips",
    metadata,
    Column("mailbox", String(200), primary_key=True),
    Column("src_folder", String(1000), primary_key=True),
    Column("src_uidvalidity", BigInteger, primary_key=True),
    Column("src_uid", BigInteger, primary_key=True),
    Column("reason", Text, nullable=False),
)
passes = Table(
    "sync_passes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("report", Text, nullable=False),
)
# Where a pass began in the messages table (their ids only grow): a pass resumed by a
# later attempt counts the messages its earlier attempts copied from here.
pass_marks = Table(
    "sync_pass_marks",
    metadata,
    Column("mailbox", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("base_id", BigInteger, nullable=False),
)

INTENT, DONE, GONE = "intent", "done", "gone"  # gone: left the source; still owns its target UID


@dataclass(frozen=True)
class FolderRow:
    src_folder: str
    tgt_folder: str
    src_uidvalidity: int | None = None
    src_uidnext: int | None = None
    src_modseq: int | None = None
    tgt_uidvalidity: int | None = None


@dataclass(frozen=True)
class Entry:
    src_folder: str
    src_uidvalidity: int
    src_uid: int
    message_id: str | None
    size: int
    flags: frozenset[str]
    tgt_folder: str
    state: str = INTENT
    content_hash: str | None = None
    tgt_uidvalidity: int | None = None
    tgt_uid: int | None = None
    tgt_floor: int | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.src_folder, self.src_uidvalidity, self.src_uid)
