"""`mailflip orders`: bad input exits 2 naming the field, before anything is created
(Temporal points at a closed port: reaching for it would exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mailflip.stack.demo_order import DEMO_ORDER_YAML

from .cli import env_for, mailflip


def order_file(tmp_path: Path, **changes: object) -> Path:
    order = yaml.safe_load(DEMO_ORDER_YAML)["order"]
    order.update(changes)
    path = tmp_path / "order.yaml"
    path.write_text(yaml.safe_dump({"order": order}))
    return path


@pytest.mark.parametrize(("changes", "field"), [
    ({"colour": "blue"}, "order.colour"),
    ({"cutover": "+2h"}, "order.cutover"),
    ({"cutover": "2020-01-01T00:00:00Z"}, "order.cutover"),
    ({"cutover": "next friday"}, "order.cutover"),
    ({"poc": {"name": "Pat", "email": "not-an-address"}}, "order.poc.email"),
    ({"time_zone": "Mars/Olympus"}, "order.time_zone"),
    ({"vanity_domains": ["not a domain"]}, "order.vanity_domains[0]"),
    ({"users": [{"name": "Ann", "source": "ann@old.example", "target": "ann@elsewhere.example",
                 "sku": "O365_BUSINESS_PREMIUM"}]}, "order.users[0].target"),
    ({"users": [{"name": "Ann", "source": "ann@old.example", "target": "ann@contoso.example",
                 "sku": "NO_SUCH_SKU"}]}, "order.users[0].sku"),
], ids=["unknown-key", "inside-lock-window", "in-the-past", "not-a-time", "bad-address",
        "bad-time-zone", "bad-domain", "target-outside-domains", "unknown-sku"])
def test_create_with_bad_input_exits_2_naming_the_field(
        tmp_path: Path, changes: dict[str, object], field: str) -> None:
    result = mailflip("orders", "create", str(order_file(tmp_path, **changes)),
                      env=env_for(tmp_path))

    assert result.returncode == 2, result.stderr
    assert field in result.stderr, result.stderr
    assert result.stdout == ""  # no order id: nothing was created


def test_create_refuses_a_file_that_is_not_an_order(tmp_path: Path) -> None:
    path = tmp_path / "order.yaml"
    path.write_text("order: {partner: acme}\nworld: {}\n")

    result = mailflip("orders", "create", str(path), env=env_for(tmp_path))

    assert result.returncode == 2
    assert "world" in result.stderr


def test_a_valid_order_without_temporal_exits_1_saying_where_it_looked(tmp_path: Path) -> None:
    result = mailflip("orders", "create", str(order_file(tmp_path)), env=env_for(tmp_path))

    assert result.returncode == 1
    assert "cannot reach Temporal" in result.stderr and "localhost:1" in result.stderr


@pytest.mark.parametrize(("args", "field"), [
    (["cutover", "ord-00000000", "tomorrow"], "cutover"),
    (["release-hold", "ord-00000000", "--cutover", "2026-01-01T00:00:00"], "cutover"),
    (["rerun", "ord-00000000", "Make Coffee"], "ctp"),
    (["show", "ord-00000000"], "order_id"),
    (["list", "--status", "Nearly Done"], "status"),
    (["list", "--limit", "0"], "limit"),
])
def test_actions_with_bad_input_exit_2_naming_the_field(
        tmp_path: Path, args: list[str], field: str) -> None:
    result = mailflip("orders", *args, env=env_for(tmp_path))

    assert result.returncode == 2, result.stderr
    assert f"{field}:" in result.stderr, result.stderr


def test_by_must_be_partner_or_support(tmp_path: Path) -> None:
    result = mailflip("orders", "cancel", "ord-00000000", "--by", "ceo", env=env_for(tmp_path))

    assert result.returncode == 2
    assert "--by" in result.stderr


def test_list_of_an_empty_store(tmp_path: Path) -> None:
    as_json = mailflip("orders", "list", "--json", env=env_for(tmp_path))
    as_text = mailflip("orders", "list", env=env_for(tmp_path))

    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
    assert as_text.returncode == 0 and "No orders" in as_text.stdout


def test_example_is_a_valid_order(tmp_path: Path) -> None:
    from mailflip.stack.orders import load_order

    result = mailflip("orders", "example")
    path = tmp_path / "order.yaml"
    path.write_text(result.stdout)

    assert result.returncode == 0
    spec = load_order(path)
    assert spec.customer == "Contoso Ltd" and len(spec.users) == 2


def test_credentials_file_must_be_a_mapping_of_strings(tmp_path: Path) -> None:
    bad = tmp_path / "secret.yaml"
    bad.write_text("- just\n- a list\n")
    result = mailflip("orders", "credentials", "ord-00000000", "--kind", "tenant",
                      "--file", str(bad), env=env_for(tmp_path))

    assert result.returncode == 2
    assert "file:" in result.stderr and "just" not in result.stderr


@pytest.mark.parametrize("args", [("orders", "list"), ("orders", "show", "o1"),
                                  ("users", "list")], ids=lambda a: "-".join(a))
def test_a_bad_setting_exits_2_naming_the_variable_without_a_traceback(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    env = env_for(tmp_path)
    env["MAILFLIP_TIME_SCALE"] = "fast"
    env["MAILFLIP_SECRET_KEY"] = "sekrit-value-never-shown"

    result = mailflip(*args, env=env)

    assert result.returncode == 2, result.stderr
    assert "MAILFLIP_" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "sekrit-value-never-shown" not in result.stderr + result.stdout
