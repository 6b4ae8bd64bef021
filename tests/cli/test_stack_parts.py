"""The pieces behind `worker`, `up` and `demo`: the live world, world files, times
typed by people, and the demo's condensed timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailflip.errors import InvalidInput
from mailflip.simulate.live import LiveWorld, load_world
from mailflip.stack.demo import DEMO_WORLD, condense, demo_spec, find_example
from mailflip.stack.orders import new_order_id, parse_when
from mailflip.tenant.port import TenantRef

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TENANT = TenantRef("ord-1", "contoso.onmicrosoft.com")


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


async def test_demo_world_verifies_a_domain_a_minute_after_it_first_sees_it() -> None:
    clock = Clock()
    world = LiveWorld(load_world(find_example(DEMO_WORLD)), now=clock)

    setup = await world.setup(TENANT, ["contoso.example"])
    clock.at = T0 + timedelta(seconds=59)
    early = await world.verify_domain(TENANT, "contoso.example")
    clock.at = T0 + timedelta(minutes=1)
    later = await world.verify_domain(TENANT, "contoso.example")

    assert setup.verified_domains == [] and setup.licenses_available["SPB"] >= 100
    assert not early  # a live world answers every poll: the order polls on its own grid
    assert later
    assert (await world.mx_hosts("contoso.example"))[0].endswith(".mail.protection.outlook.com")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(text)
    return path


async def test_a_world_file_sets_dns_per_domain_and_sync_duration(tmp_path: Path) -> None:
    path = write(tmp_path, """
world:
  tenant: {credentials_valid: true, licenses: {SPB: 3}}
  dns:
    contoso.example: {txt_published_at: +2h, mx_to_m365_at: never}
    "*": {txt_published_at: +0m, mx_to_m365_at: +0m}
  sync: {duration: 45s}
""")
    spec = load_world(path, started=T0)
    clock = Clock()
    world = LiveWorld(spec, now=clock)

    assert spec.config.sync_duration == timedelta(seconds=45)
    assert spec.config.licenses == {"SPB": 3}
    assert not await world.verify_domain(TENANT, "contoso.example")
    assert await world.verify_domain(TENANT, "fabrikam.example")
    assert (await world.mx_hosts("contoso.example")) == ["mx1.contoso.example"]
    clock.at = T0 + timedelta(hours=2)
    assert await world.verify_domain(TENANT, "contoso.example")


@pytest.mark.parametrize(("text", "field"), [
    ("world: {tenant: {licences: {SPB: 1}}}", "world.tenant.licences"),
    ("world: {sync: {duration: soon}}", "world.sync.duration"),
    ("world: {dns: {contoso.example: {txt_published_at: tuesday}}}",
     "world.dns.contoso.example.txt_published_at"),
    ("world: {faults: [{ctp: Make Coffee, until: +1d}]}", "world.faults.0.ctp"),
    ("world: {users: {ann@contoso.example: {ready_at: +1h}}}", "world.users"),
    ("world: {}\norder: {}", "order"),
    ("- just a list", "file"),
])
def test_a_bad_world_file_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_world(write(tmp_path, text), started=T0)
    assert caught.value.field == field


def test_times_people_type() -> None:
    now = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)

    assert parse_when("cutover", "+3d", now) == datetime(2026, 12, 4, 9, 1, tzinfo=UTC)
    assert parse_when("cutover", "2027-01-10T09:00:00+01:00", now) == \
        datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    for bad in ("tomorrow", "2027-01-10T09:00:00", "+3x"):
        with pytest.raises(InvalidInput) as caught:
            parse_when("cutover", bad, now)
        assert caught.value.field == "cutover"


def test_order_ids_are_short_and_readable() -> None:
    ids = {new_order_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("ord-") and len(i) == 12 and i[4:].isalnum() for i in ids)


def test_the_demo_order_is_valid_and_three_days_out() -> None:
    spec = demo_spec(T0)
    assert spec.cutover == T0 + timedelta(days=3)
    assert spec.source.admin_credentials  # users ready at once: syncs start in the demo


def test_condense_keeps_endings_and_counts_syncs() -> None:
    at = "2026-12-01T09:00:00Z"
    lines = [
        {"at": at, "kind": "status", "status": "Awaiting O365 Creation"},
        {"at": at, "kind": "ctp", "ctp": "Setup Office 365 Account", "state": "running"},
        {"at": at, "kind": "ctp", "ctp": "Setup Office 365 Account", "state": "completed"},
        *({"at": at, "kind": "sync", "mailbox": m, "pass": "initial", "state": s}
          for m in ("a@x.example", "b@x.example") for s in ("started", "completed")),
        {"at": at, "kind": "email", "template": "user_switch", "to": "a@x.example"},
        {"at": at, "kind": "email", "template": "user_switch", "to": "b@x.example"},
        {"at": at, "kind": "end", "status": "Sweeping Email", "on_hold": False,
         "cancelled": False},
    ]

    short = condense(lines)

    assert [e["kind"] for e in short] == ["status", "ctp", "sync", "email", "end"]
    assert short[1]["state"] == "completed"
    assert (short[2]["mailbox"], short[2]["pass"], short[2]["state"]) == \
        ("2 mailboxes:", "initial", "completed")
    assert short[3]["to"] == "a@x.example, b@x.example"


def test_the_demo_finds_its_example() -> None:
    assert find_example().name == "happy-path-ssi.yaml"


def test_up_refuses_a_port_in_use_and_starts_nothing(tmp_path: Path) -> None:
    import socket

    from .cli import env_for, mailflip

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = mailflip("up", "--port", str(port), "--data-dir", str(tmp_path / "var"),
                          "--world", str(find_example(DEMO_WORLD)), env=env_for(tmp_path),
                          cwd=tmp_path)

    assert result.returncode == 1
    assert f"--port: port {port} is in use" in result.stderr.replace("\n", " ")
    assert not (tmp_path / "var" / "temporal.db").exists()


def test_a_pass_worker_needs_its_task_queue_named(tmp_path: Path) -> None:
    from .cli import env_for, mailflip

    result = mailflip("worker", "--passes", "--world", str(find_example(DEMO_WORLD)),
                      env=env_for(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "MAILFLIP_PASS_TASK_QUEUE: set it to run a pass worker" in \
        result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def test_worker_refuses_a_bad_world_file(tmp_path: Path) -> None:
    from .cli import env_for, mailflip

    path = write(tmp_path, "world: {tenant: {credentials_valid: maybe}}")
    result = mailflip("worker", "--world", str(path), env=env_for(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "world.tenant.credentials_valid" in result.stderr


@pytest.mark.parametrize("option", ["--agents-port", "--source-port", "--portal-port"])
def test_up_names_the_option_of_a_local_stand_in_whose_port_is_taken(
        tmp_path: Path, option: str) -> None:
    import socket

    from mailflip.localnet import free_port

    from .cli import env_for, mailflip

    ports = {o: str(free_port()) for o in ("--port", "--ui-port", "--m365-port",
                                           "--m365-imap-port", "--smtp-port", "--dns-port",
                                           "--agents-port", "--source-port",
                                           "--portal-port")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports[option] = str(busy.getsockname()[1])
        result = mailflip("up", "--data-dir", str(tmp_path / "var"),
                          *(x for pair in ports.items() for x in pair),
                          env=env_for(tmp_path, int(ports["--port"])), cwd=tmp_path)
    said = " ".join(result.stderr.split())
    assert result.returncode == 1, said
    assert f"port {ports[option]} is taken" in said and option in said
    assert "Traceback" not in result.stderr + result.stdout
