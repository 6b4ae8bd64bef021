"""End to end: `mailflip up` (or a dev server and `mailflip worker`) on free ports in a
temp dir, orders created and placed with the CLI, the store polled until they move,
then Ctrl-C (SIGINT) and no Temporal process left behind."""

from __future__ import annotations

import json
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mailflip.dns.zones import records_of
from mailflip.domain.names import Status
from mailflip.errors import InvalidInput
from mailflip.localnet import free_port
from mailflip.notify.catcher import caught
from mailflip.stack.demo_order import DEMO_ORDER_YAML
from mailflip.stack.devserver import DevServer
from mailflip.stack.source import DEMO_MAILBOXES
from mailflip.store.repositories import SqlStore, create_store

from .cli import EXAMPLES, MAILFLIP, env_for, mailflip

DEMO_WORLD = str(EXAMPLES / "worlds" / "demo.yaml")

pytestmark = pytest.mark.slow


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    """Poll `check` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)  # poll interval; the deadline bounds the wait
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def temporal_pids(marker: str) -> list[int]:
    """Temporal server processes whose command line mentions `marker` (our temp dir)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "temporal" in cmd and "start-dev" in cmd and marker in cmd:
            pids.append(int(proc.name))
    return pids


def listening(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port (TIME_WAIT leftovers do not)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper that may not come)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Background:
    """A `mailflip` command running in the background, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log = cwd / f"{args[0]}.out"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([MAILFLIP, *args], env=env, cwd=cwd, stdout=out,
                                         stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text()

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(f"exited with {self.proc.returncode}:\n{self.output()}")
            return text in self.output()

        wait_for(repr(text), seen, timeout)

    def interrupt(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = create_store(f"sqlite:///{tmp_path}/mailflip.db")
    yield opened
    opened.close()


def create_and_place(tmp_path: Path, env: dict[str, str],
                     tenant_file: Path | None = None) -> str:
    """Create the demo order, give it `tenant_file`'s credentials if given, place it."""
    path = tmp_path / "order.yaml"
    path.write_text(DEMO_ORDER_YAML)
    created = mailflip("orders", "create", str(path), env=env)
    assert created.returncode == 0, created.stderr
    order_id = created.stdout.strip()
    assert order_id.startswith("ord-")
    if tenant_file is not None:
        creds = mailflip("orders", "credentials", order_id, "--kind", "tenant",
                         "--file", str(tenant_file), env=env)
        assert creds.returncode == 0, creds.stderr
    placed = mailflip("orders", "place", order_id, env=env)
    assert placed.returncode == 0, placed.stderr
    assert "accepted" in placed.stdout
    return order_id


def ctp_ended(store: SqlStore, order_id: str, ctp: str) -> str | None:
    """The CTP's last end state in the mirrored timeline (None: not ended, or no order)."""
    try:
        events = store.timeline(order_id)
    except InvalidInput:
        return None  # not mirrored yet
    ends = [e.data["state"] for e in events if e.kind == "ctp" and e.data.get("ctp") == ctp
            and e.data.get("state") in ("completed", "failed")]
    return ends[-1] if ends else None


def status_when_moved(store: SqlStore, order_id: str) -> Status | None:
    try:
        status = store.get_order(order_id).status
    except InvalidInput:
        return None  # not mirrored yet
    return status if status is not Status.SAVED else None


def test_up_runs_orders_and_stops_cleanly_on_ctrl_c(tmp_path: Path, store: SqlStore) -> None:
    port, ui_port = free_port(), free_port()
    env = env_for(tmp_path, port)
    m365_port, imap_port, agents_port = free_port(), free_port(), free_port()
    portal_port = free_port()
    up = Background(["up", "--port", str(port), "--ui-port", str(ui_port),
                     "--data-dir", str(tmp_path / "var"), "--world", DEMO_WORLD,
                     "--m365-port", str(m365_port), "--m365-imap-port", str(imap_port),
                     "--smtp-port", str(free_port()), "--dns-port", str(free_port()),
                     "--agents-port", str(agents_port), "--source-port", str(free_port()),
                     "--portal-port", str(portal_port)],
                    env, tmp_path)
    try:
        up.wait_for_output("Ctrl-C stops everything")
        assert f"http://127.0.0.1:{ui_port}" in up.output()
        assert len(temporal_pids(str(tmp_path))) == 1
        # the tenant port: the local Microsoft 365 through the real Graph adapter
        assert f"tenant   Microsoft Graph https://127.0.0.1:{m365_port}" in up.output()
        tenant_file = tmp_path / "var" / "m365" / "tenant.yaml"
        assert f"--file {tenant_file}" in up.output()
        assert f"its mailboxes over IMAP: imaps://127.0.0.1:{imap_port}" in up.output()
        tls = ssl.create_default_context(cafile=tmp_path / "var" / "m365" / "cert.pem")
        with socket.create_connection(("127.0.0.1", imap_port), timeout=10) as raw, \
                tls.wrap_socket(raw, server_hostname="127.0.0.1") as imap:
            assert imap.recv(200).startswith(b"* OK The Microsoft Exchange IMAP4 service")
        # the desktop agents' API, served by the worker's side; a code it never gave out
        # opens nothing
        assert f"Desktop agents   API http://127.0.0.1:{agents_port}/agent/v1" in up.output()
        assert f"agents   desktop agents' API http://127.0.0.1:{agents_port}" in up.output()
        refused = httpx.post(f"http://127.0.0.1:{agents_port}/agent/v1/enrol",
                             json={"host": "PC"}, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401

        order_id = create_and_place(tmp_path, env, tenant_file)
        wait_for("Setup Office 365 Account to complete",
                 lambda: ctp_ended(store, order_id, "Setup Office 365 Account"), timeout=120)
        # the portal (the order is mirrored by now), with the seeded partner account
        # printed on start
        portal = f"http://127.0.0.1:{portal_port}"
        assert f"Portal           {portal}" in up.output()
        password = re.search(r"partner  partner@acme-msp\.example  password (\S+)",
                             up.output())[1]
        with httpx.Client(base_url=portal, follow_redirects=True) as web:
            web.get("/login")
            signed = web.post("/login", data={"email": "partner@acme-msp.example",
                                              "password": password,
                                              "csrf": web.cookies["mf_login_csrf"]})
            assert signed.status_code == 200 and order_id in signed.text
        # the notifications: over SMTP to the local catcher, readable with sim smtp list
        maildir = tmp_path / "var" / "smtp"
        assert f"mailflip sim smtp list --maildir {maildir}" in up.output()
        wait_for("an email in the local catcher", lambda: bool(caught(maildir)), timeout=120)

        shown = mailflip("orders", "show", order_id, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        detail = json.loads(shown.stdout)
        assert detail["order_id"] == order_id and detail["customer"] == "Contoso Ltd"
        assert detail["status"] != "Saved in Website" and detail["placed_at"]
        assert detail["time_zone"] == "Europe/London"
        assert detail["cutover"].endswith("Z") and detail["cutover_local"][-6:] in (
            "+00:00", "+01:00")
        assert {"name": "Setup Office 365 Account", "state": "completed"}.items() <= \
            next(c for c in detail["ctps"] if c["name"] == "Setup Office 365 Account").items()
        tail = detail["timeline"]
        assert len(tail) == min(20, detail["timeline_total"])
        assert all(e["at"].endswith("Z") and e["kind"] for e in tail)
        assert [e["at"] for e in tail] == sorted(e["at"] for e in tail)
        statuses = [e.data["status"] for e in store.timeline(order_id) if e.kind == "status"]
        assert statuses[:2] == ["Saved in Website", "Awaiting O365 Creation"]

        again = mailflip("orders", "place", order_id, env=env)
        assert again.returncode == 1 and "refused" in again.stderr
        assert "action:" in again.stderr  # the refusal names the field

        secret = tmp_path / "tenant.yaml"
        secret.write_text("tenant_id: t1\nclient_id: c1\nclient_secret: s3cr3t-value\n")
        creds = mailflip("orders", "credentials", order_id, "--kind", "tenant",
                         "--file", str(secret), env=env)
        assert creds.returncode == 0, creds.stderr
        assert "s3cr3t-value" not in creds.stdout + creds.stderr
        assert store.load_credentials(order_id, "tenant")["client_secret"] == "s3cr3t-value"

        listed = mailflip("orders", "list", "--json", env=env)
        assert [o["order_id"] for o in json.loads(listed.stdout)] == [order_id]
        readable = mailflip("orders", "show", order_id, env=env)
        assert readable.returncode == 0 and "Setup Office 365 Account" in readable.stdout

        assert up.interrupt() == 0, up.output()
        assert "stopped" in up.output()
        assert temporal_pids(str(tmp_path)) == []
    finally:
        up.kill()


def test_up_killed_hard_takes_its_temporal_server_along(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    up = Background(["up", "--port", str(port), "--ui-port", str(ui_port),
                     "--data-dir", str(tmp_path / "var"), "--world", DEMO_WORLD],
                    env_for(tmp_path, port), tmp_path)
    try:
        up.wait_for_output("Ctrl-C stops everything")
        [server_pid] = temporal_pids(str(tmp_path))
        up.proc.kill()  # SIGKILL: no chance to clean up
        up.proc.wait()
        wait_for("the Temporal server to exit", lambda: not temporal_pids(str(tmp_path)), 30)
        assert not running(server_pid)
    finally:
        up.kill()


async def test_workers_join_a_cluster_and_play_the_world_file(tmp_path: Path,
                                                              store: SqlStore) -> None:
    server = DevServer(tmp_path / "var", port=free_port(), ui_port=free_port())
    server.start()
    world = tmp_path / "world.yaml"
    world.write_text("world:\n  tenant: {credentials_valid: false}\n")
    env = env_for(tmp_path, server.port)
    workers: list[Background] = []
    try:
        await server.wait_ready()
        for n in range(2):  # two workers share one task queue
            (tmp_path / f"w{n}").mkdir()
            workers.append(Background(["worker", "--world", str(world)], env, tmp_path / f"w{n}"))
        for w in workers:
            w.wait_for_output("Ctrl-C stops it")
            # printed right after, to stderr: wait for it too, never assume it is there
            w.wait_for_output("SIMULATED OUTSIDE WORLD")
            assert str(world) in w.output()
        order_id = create_and_place(tmp_path, env)

        def setup_failed() -> bool:
            if status_when_moved(store, order_id) is None:
                return False
            return any(t.code == "o365_credentials_invalid" for t in store.tasks(order_id))

        wait_for("the bad-credentials task", setup_failed)
        assert store.get_order(order_id).status is Status.AWAITING_O365
        for w in workers:
            assert w.interrupt() == 0, w.output()
            assert "worker stopped" in w.output()
    finally:
        for w in workers:
            w.kill()
        server.stop()
    assert temporal_pids(str(tmp_path)) == []


def test_demo_shows_a_whole_lifecycle_then_a_live_order(tmp_path: Path) -> None:
    port, ui_port, imap_port, source_port = free_port(), free_port(), free_port(), free_port()
    demo = Background(["demo", "--port", str(port), "--ui-port", str(ui_port),
                       "--data-dir", str(tmp_path / "var"), "--m365-port", str(free_port()),
                       "--m365-imap-port", str(imap_port), "--smtp-port", str(free_port()),
                       "--dns-port", str(free_port()), "--agents-port", str(free_port()),
                       "--source-port", str(source_port),
                       "--portal-port", str(free_port())],
                      env_for(tmp_path, port), tmp_path)
    try:
        demo.wait_for_output("Ctrl-C stops everything", timeout=90)
        simulated, live = demo.output().split("2/2")
        assert "Migration Complete" in simulated and "poc_all_syncs_done" in simulated
        assert len(simulated.splitlines()) < 70  # fits a screen
        assert f"http://127.0.0.1:{ui_port}" in live and "mailflip orders show ord-" in live

        # its mailboxes appear in the local Microsoft 365 20 s after their licences, and
        # Create Mailboxes looks again a minute later: about 90 s
        wait_for("the live order to reach Verifying Vanity Domain Map",
                 lambda: "Verifying Vanity Domain Map" in demo.output().split("2/2")[1],
                 timeout=240)
        # the world publishes the TXT record in the local DNS a minute after the domain
        # appeared in the tenant; the local Microsoft 365 verifies it through that DNS
        zones = tmp_path / "var" / "dns"
        wait_for("the TXT record in the local DNS", lambda: any(
            r.type == "TXT" and "MS=ms" in r.value for r in records_of(zones, "contoso.example")),
            timeout=120)
        wait_for("the domain verified through DNS",
                 lambda: "Verify Vanity Domain: completed" in demo.output().split("2/2")[1],
                 timeout=120)
        # then its mailboxes, the shared one once Exchange accepts the new domain
        wait_for("Create Mailboxes to complete",
                 lambda: "Create Mailboxes: completed" in demo.output().split("2/2")[1],
                 timeout=180)
        assert "create_mailboxes_failed" not in demo.output()
        # real mail: the users' initial passes copied the local source host's messages
        # into their mailboxes in the local Microsoft 365, over its XOAUTH2 IMAP
        order_id = demo.output().split("Demo order ")[1].split()[0]
        env = env_for(tmp_path, port)

        def initial_passes() -> dict[str, dict] | None:
            shown = mailflip("orders", "show", order_id, "--json", env=env)
            boxes = {m["address"]: {p["pass"]: p for p in m["passes"]}
                     for m in json.loads(shown.stdout)["mailboxes"]}
            users = ("ann@contoso.example", "bob@contoso.example")
            return boxes if all("initial" in boxes[u] for u in users) else None

        boxes = wait_for("the users' initial passes", initial_passes, timeout=180)
        for user in ("ann@contoso.example", "bob@contoso.example"):
            initial = boxes[user]["initial"]
            assert initial["state"] == "completed", initial
            assert initial["messages"] == DEMO_MAILBOXES[user] and initial["bytes"] > 0
        shown = mailflip("orders", "show", order_id, env=env)
        assert "initial: completed 60 msgs" in " ".join(shown.stdout.split())
        assert demo.interrupt() == 0, demo.output()
        assert temporal_pids(str(tmp_path)) == []
        # the Dovecots behind the tenant's IMAP and the source host stopped with it
        assert not listening(imap_port) and not listening(source_port)
    finally:
        demo.kill()
