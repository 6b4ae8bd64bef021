"""The reference desktop agent (`mailflip agent`): behaves as an end user's PC does.

It keeps a mail profile (account type, server, address), enrols with the code from the
prepare-for-migration email, reports readiness, and polls for commands. On `flip` it
rewrites the profile to Microsoft 365 and acknowledges; on `stop` it acknowledges and
exits. It survives the server being away (every call is retried with back-off) and
never flips twice: a profile that already points where the flip says is left alone, so
a flip acknowledged late (the server was away) or sent again is harmless.

The change itself is a pluggable step (`ProfileStep`): `JsonProfile` here, a JSON
file standing in for the mail profile. `WindowsOutlookProfile` is the step a Windows
PC needs (README: "The desktop agent on Windows"); it is not built and says so."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from mailflip.errors import MailflipError

log = logging.getLogger("mailflip.agent")


class AgentRefused(MailflipError):
    """The server refused the agent for good (unknown or revoked code, bad request)."""


class ProfileStep(Protocol):
    def current(self) -> dict[str, Any] | None:
        """The mail profile now (account_type, server, address), None if there is none."""

    def flip(self, target: dict[str, Any]) -> bool:
        """Point the profile at `target`; False when it already did (nothing changed)."""


class JsonProfile:
    """A mail profile kept as a JSON file, rewritten atomically (write, then rename); the
    profile from before the flip is kept beside it (`.before-flip`) to roll back by hand."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def current(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def flip(self, target: dict[str, Any]) -> bool:
        now = self.current() or {}
        wanted = {**now, "account_type": target["account_type"], "server": target["server"],
                  "address": target["address"]}
        if now == wanted:
            return False
        before = self.path.with_name(self.path.name + ".before-flip")
        if now and not before.exists():
            before.write_text(json.dumps(now, indent=2) + "\n")
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(wanted, indent=2) + "\n")
        os.replace(tmp, self.path)
        return True


class WindowsOutlookProfile:
    """Not built: see the README's "The desktop agent on Windows"."""

    def current(self) -> dict[str, Any] | None:
        raise NotImplementedError("the Windows Outlook profile step is not built yet")

    def flip(self, target: dict[str, Any]) -> bool:
        raise NotImplementedError("the Windows Outlook profile step is not built yet")


@dataclass(frozen=True)
class PcFacts:
    outlook_version: str = "16.0.17928.20114"  # what this PC's Outlook says it is
    m365_host: str = "outlook.office365.com"  # probed for "can reach Microsoft 365"
    m365_port: int = 443
    host: str = socket.gethostname()


class ReferenceAgent:
    def __init__(self, server: str, token: str, step: ProfileStep, facts: PcFacts,
                 profile_dir: Path, *, transport: httpx.BaseTransport | None = None,
                 retry_max_s: float = 30.0, report_every: int = 10) -> None:
        self.server, self.step, self.facts = server.rstrip("/"), step, facts
        self.profile_dir, self.retry_max_s, self.report_every = profile_dir, retry_max_s, \
            report_every
        self.http = httpx.Client(base_url=self.server, transport=transport, timeout=15.0,
                                 headers={"Authorization": f"Bearer {token}"})
        self.stopped = threading.Event()  # set to end run() at its next wait

    def __repr__(self) -> str:  # never the code
        return f"ReferenceAgent({self.server})"

    # ------------------------------------------------------------------ calls
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The server's answer; retried (1 s doubling to retry_max_s) while the server is
        away or failing; AgentRefused on 4xx."""
        delay = 1.0
        while True:
            try:
                r = self.http.request(method, path, json=body)
                if r.status_code < 500:
                    break
                why = f"HTTP {r.status_code}"
            except httpx.TransportError as exc:
                why = type(exc).__name__
            log.warning("agent: %s %s failed (%s); again in %.0f s", method, path, why, delay)
            if self.stopped.wait(delay):
                raise AgentRefused("stopped while the server was away")
            delay = min(delay * 2, self.retry_max_s)
        if r.status_code >= 400:
            try:
                err = r.json()
                text = f"{err.get('field')}: {err.get('error')}"
            except ValueError:
                text = r.text
            raise AgentRefused(f"{method} {path}: HTTP {r.status_code}: {text}")
        return r.json() if r.content else None

    # ------------------------------------------------------------------ what a PC says
    def reachable(self) -> bool:
        try:
            socket.create_connection((self.facts.m365_host, self.facts.m365_port), 3).close()
            return True
        except OSError:
            return False

    def report(self) -> dict[str, Any]:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return {"outlook_version": self.facts.outlook_version,
                "profile_found": self.step.current() is not None,
                "disk_free_mb": shutil.disk_usage(self.profile_dir).free // 2**20,
                "m365_reachable": self.reachable()}

    # ------------------------------------------------------------------ the loop
    def run(self, on_event: Callable[[str], None] = log.info) -> int:
        """Until a stop command (0) or `stopped` is set (1)."""
        poll = float(self.call("POST", "/agent/v1/enrol", {"host": self.facts.host})
                     ["poll_every_s"])
        on_event("enrolled")
        turn = 0
        while not self.stopped.is_set():
            if turn % self.report_every == 0:
                answer = self.call("POST", "/agent/v1/readiness", self.report())
                on_event(f"readiness: {answer['readiness']} {answer['reason']}".strip())
            turn += 1
            for cmd in self.call("GET", "/agent/v1/commands")["commands"]:
                if self.execute(cmd, on_event):
                    return 0
            self.stopped.wait(poll)
        return 1

    def execute(self, cmd: dict[str, Any], on_event: Callable[[str], None]) -> bool:
        """Carry out one command and acknowledge it; True when it was stop."""
        ack = f"/agent/v1/commands/{cmd['id']}/ack"
        if cmd["kind"] == "flip":
            try:
                changed = self.step.flip(cmd["payload"])
            except (OSError, KeyError, NotImplementedError) as exc:
                self.call("POST", ack, {"result": "failed", "detail": str(exc)})
                on_event(f"flip failed: {exc}")
                return False
            self.call("POST", ack, {"result": "done"})
            on_event("flipped to Microsoft 365" if changed else "already flipped")
            return False
        if cmd["kind"] == "stop":
            self.call("POST", ack, {"result": "done"})
            on_event("stopped: the migration is complete")
            return True
        self.call("POST", ack, {"result": "failed", "detail": f"unknown command {cmd['kind']}"})
        return False
