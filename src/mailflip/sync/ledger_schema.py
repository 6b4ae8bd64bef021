"""Ledger tables (SQLite DDL) and row types.

The tables keep the shape the SQLAlchemy-built ledger gave them, so state dirs written
before the ledger moved to the stdlib's sqlite3 open unchanged."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_folders (
    mailbox VARCHAR(200) NOT NULL,
    src_folder VARCHAR(1000) NOT NULL,
    tgt_folder VARCHAR(1000) NOT NULL,
    src_uidvalidity BIGINT,
    src_uidnext BIGINT,
    src_modseq BIGINT,
    tgt_uidvalidity BIGINT,
    PRIMARY KEY (mailbox, src_folder)
);
CREATE TABLE IF NOT EXISTS sync_messages (
    id INTEGER NOT NULL,
    mailbox VARCHAR(200) NOT NULL,
    src_folder VARCHAR(1000) NOT NULL,
    src_uidvalidity BIGINT NOT NULL,
    src_uid BIGINT NOT NULL,
    message_id TEXT,
    size BIGINT NOT NULL,
    content_hash VARCHAR(64),
    flags TEXT NOT NULL,
    tgt_folder VARCHAR(1000) NOT NULL,
    tgt_uidvalidity BIGINT,
    tgt_uid BIGINT,
    tgt_floor BIGINT,
    state VARCHAR(10) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (mailbox, src_folder, src_uidvalidity, src_uid)
);
CREATE INDEX IF NOT EXISTS ix_sync_messages_state ON sync_messages (mailbox, src_folder, state);
CREATE INDEX IF NOT EXISTS ix_sync_messages_target
    ON sync_messages (mailbox, tgt_folder, tgt_uidvalidity, tgt_uid);
CREATE TABLE IF NOT EXISTS sync_skips (
    mailbox VARCHAR(200) NOT NULL,
    src_folder VARCHAR(1000) NOT NULL,
    src_uidvalidity BIGINT NOT NULL,
    src_uid BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (mailbox, src_folder, src_uidvalidity, src_uid)
);
CREATE TABLE IF NOT EXISTS sync_passes (
    id INTEGER NOT NULL,
    mailbox VARCHAR(200) NOT NULL,
    name VARCHAR(200) NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS sync_pass_marks (
    mailbox VARCHAR(200) NOT NULL,
    name VARCHAR(200) NOT NULL,
    base_id BIGINT NOT NULL,
    PRIMARY KEY (mailbox, name)
);
"""
# Window diffs scan the unique key's (mailbox, src_folder, src_uidvalidity, src_uid) range;
# the two indexes serve "any intents in this folder?" and "which target UIDs do we own?".
# sync_skips: messages the target refused (over its size limit, rejected by the server) or
# the pass's options excluded as too large, with the reason: reconciliation grades them
# `skipped`; a later copy of the same message makes its row stale (the done row wins).
# sync_pass_marks: where a pass began in sync_messages (ids only grow): a pass resumed by a
# later attempt counts the messages its earlier attempts copied from there.

# The columns of sync_messages an Entry is read from, in Entry's order below.
ENTRY_COLUMNS = (
    "src_folder, src_uidvalidity, src_uid, message_id, size, flags, tgt_folder, state, "
    "content_hash, tgt_uidvalidity, tgt_uid, tgt_floor"
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
