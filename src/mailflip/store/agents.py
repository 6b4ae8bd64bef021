"""End users' personal tokens and desktop agents: tokens by their hash (the gather-info
link, the agent's enrolment code), each agent's last report, and the commands queued
for it (flip, stop), once per kind, done when acknowledged."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from mailflip.errors import InvalidInput

from .base import StoreBase
from .mirror import insert_absent, upsert
from .queries import ACCESS_TOKENS, AGENT_COMMANDS, AGENTS

GATHER, AGENT = "gather", "agent"  # what a token opens: the gather-info page, the agent API


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AgentRow:
    order_id: str
    address: str
    host: str
    enrolled_at: datetime
    last_seen: datetime
    readiness: str  # unknown | ready | not_ready
    reason: str
    report: dict[str, Any] | None
    reported_at: datetime | None


@dataclass(frozen=True)
class CommandRow:
    id: int
    order_id: str
    address: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    acked_at: datetime | None
    result: str


class AgentRegistry(StoreBase):
    def register_tokens(self, purpose: str, tokens: dict[tuple[str, str], str]) -> None:
        """Keep the hash of each (order_id, address) -> token; a token kept already is
        left as it is (the same token is made on every render)."""
        now = self._clock()
        rows = [{"token_hash": token_hash(t), "purpose": purpose, "order_id": o,
                 "address": a, "created_at": now} for (o, a), t in tokens.items()]
        with self._write() as conn:
            insert_absent(conn, ACCESS_TOKENS, rows, ("token_hash",))

    def token_owner(self, purpose: str, token: str) -> tuple[str, str] | None:
        """(order_id, address) the token belongs to, or None (unknown, revoked, other use)."""
        t = ACCESS_TOKENS
        query = select(t.c.order_id, t.c.address).where(
            t.c.token_hash == token_hash(token), t.c.purpose == purpose)
        with self._read() as conn:
            row = conn.execute(query).first()
        return (row[0], row[1]) if row else None

    def revoke_tokens(self, order_id: str, purpose: str, address: str | None = None) -> None:
        """The order's tokens for `purpose` (one user's, with `address`) open nothing now."""
        t = ACCESS_TOKENS
        query = delete(t).where(t.c.order_id == order_id, t.c.purpose == purpose)
        if address is not None:
            query = query.where(t.c.address == address)
        with self._write() as conn:
            conn.execute(query)

    def agent_seen(self, order_id: str, address: str, host: str | None = None,
                   readiness: tuple[str, str, dict[str, Any]] | None = None) -> None:
        """Enrol (first call), heartbeat, or a readiness report (state, reason, report)."""
        now = self._clock()
        with self._write() as conn:
            old = conn.execute(select(AGENTS).where(
                AGENTS.c.order_id == order_id, AGENTS.c.address == address)).mappings().first()
            row: dict[str, Any] = dict(old) if old else {
                "order_id": order_id, "address": address, "host": "", "enrolled_at": now,
                "readiness": "unknown", "reason": "", "report": None, "reported_at": None}
            row["last_seen"] = now
            if host is not None:
                row["host"] = host[:255]
            if readiness is not None:
                row["readiness"], row["reason"], row["report"] = readiness
                row["reported_at"] = now
            upsert(conn, AGENTS, [row])

    def agents(self, order_id: str) -> list[AgentRow]:
        query = select(AGENTS).where(AGENTS.c.order_id == order_id).order_by(AGENTS.c.address)
        with self._read() as conn:
            return [AgentRow(**r) for r in conn.execute(query).mappings()]

    def queue_commands(self, order_id: str, kind: str,
                       payloads: dict[str, dict[str, Any]]) -> None:
        """A `kind` command for each address -> payload; once per order, user and kind."""
        now = self._clock()
        rows = [{"order_id": order_id, "address": a, "kind": kind, "payload": p,
                 "created_at": now, "acked_at": None, "result": ""}
                for a, p in sorted(payloads.items())]
        with self._write() as conn:
            insert_absent(conn, AGENT_COMMANDS, rows, ("order_id", "address", "kind"))

    def commands(self, order_id: str, address: str | None = None,
                 pending: bool = False) -> list[CommandRow]:
        c = AGENT_COMMANDS
        query = select(c).where(c.c.order_id == order_id)
        if address is not None:
            query = query.where(c.c.address == address)
        if pending:
            query = query.where(c.c.acked_at.is_(None))
        with self._read() as conn:
            return [CommandRow(**r) for r in conn.execute(query.order_by(c.c.id)).mappings()]

    def ack_command(self, order_id: str, address: str, command_id: int, result: str
                    ) -> str | None:
        """Acknowledge the user's command: its kind, or None if it was acknowledged already
        (the first answer stands). InvalidInput (field command_id) for a command not
        theirs."""
        c = AGENT_COMMANDS
        with self._write() as conn:
            row = conn.execute(select(c.c.acked_at, c.c.kind).where(
                c.c.id == command_id, c.c.order_id == order_id,
                c.c.address == address)).first()
            if row is None:
                raise InvalidInput("command_id", f"no command {command_id} for this agent")
            if row[0] is not None:
                return None
            conn.execute(update(c).where(c.c.id == command_id).values(
                acked_at=self._clock(), result=result))
            return str(row[1])
