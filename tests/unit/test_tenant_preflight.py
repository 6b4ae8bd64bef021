"""The pre-flight's verdicts: plain functions over what was read from a tenant."""

from __future__ import annotations

import base64
import json

from mailflip.tenant.preflight import (
    GRAPH_PERMISSIONS,
    DomainSeen,
    Verdict,
    domain_checks,
    licence_checks,
    permission_check,
    token_roles,
)


def jwt(claims: dict[str, object]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.c2ln"


def test_token_roles_reads_the_roles_claim_and_knows_an_opaque_token() -> None:
    assert token_roles(jwt({"roles": ["User.ReadWrite.All"], "tid": "x"})) == [
        "User.ReadWrite.All"]
    assert token_roles(jwt({"tid": "x"})) == []  # a JWT without roles: nothing consented
    assert token_roles("opaque-token") is None
    assert token_roles("a.!!!.c") is None


def test_permission_check_lists_every_missing_permission_with_the_consent_url() -> None:
    check = permission_check("Graph permissions", GRAPH_PERMISSIONS, ["User.ReadWrite.All"],
                             "https://login/t/adminconsent?client_id=c")
    assert check.verdict is Verdict.NO_GO
    for name in GRAPH_PERMISSIONS:
        assert (name in check.detail) is (name != "User.ReadWrite.All")
    assert check.detail.endswith("consent at https://login/t/adminconsent?client_id=c")
    unknown = permission_check("Graph permissions", GRAPH_PERMISSIONS, None, "u")
    assert unknown.verdict is Verdict.WARN


def test_domain_checks_block_only_a_domain_another_tenant_verified() -> None:
    checks = domain_checks([
        DomainSeen("mine.com", True, verified=True, email=True, owner_tenant="T1"),
        DomainSeen("todo.com", True, txt="MS=ms123"),
        DomainSeen("new.com", False),
        DomainSeen("taken.com", False, owner_tenant="T2")], "t1")
    assert [c.verdict for c in checks] == [Verdict.GO, Verdict.WARN, Verdict.WARN,
                                           Verdict.NO_GO]
    assert checks[1].detail == 'not verified yet: publish TXT "MS=ms123" at todo.com'
    assert "T2" in checks[3].detail


def test_licence_checks_without_an_order_list_free_units_per_sku() -> None:
    checks = licence_checks({"B": (10, 12), "A": (5, 1)}, None)
    assert [(c.name, c.detail) for c in checks] == [("licences A", "4 free of 5"),
                                                    ("licences B", "0 free of 10")]
    assert all(c.verdict is Verdict.GO for c in checks)
