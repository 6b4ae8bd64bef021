"""Bad input (SPEC.md "Bad input"): each refusal names the field and changes nothing."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailflip.domain import actions as act
from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.domain.rules import Timings
from mailflip.domain.validation import check_spec
from mailflip.errors import InvalidInput

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T = Timings()


def spec(**kw) -> OrderSpec:
    base = OrderSpec(
        partner="acme", customer="Contoso", poc=Poc("Pat", "pat@contoso.com"),
        cutover=NOW + timedelta(days=10), initial_domain="contoso.onmicrosoft.com",
        vanity_domains=["contoso.com"],
        users=[UserSpec("Ann", "ann@old.example", "ann@contoso.com", "SPB"),
               UserSpec("Bob", "bob@old.example", "bob@contoso.com", "SPB")])
    return replace(base, **kw)


@pytest.mark.parametrize("change,field", [
    ({"poc": Poc("Pat", "not-an-address")}, "order.poc.email"),
    ({"vanity_domains": ["contoso"]}, "order.vanity_domains[0]"),
    ({"vanity_domains": ["contoso.com", "Contoso.com"]}, "order.vanity_domains[1]"),
    ({"initial_domain": "contoso.com"}, "order.tenant.initial_domain"),
    ({"cutover": NOW - timedelta(hours=1)}, "order.cutover"),
    ({"cutover": NOW + timedelta(hours=3)}, "order.cutover"),
    ({"time_zone": "Mars/Olympus"}, "order.time_zone"),
    ({"users": [UserSpec("Ann", "ann@@old", "ann@contoso.com", "SPB")]}, "order.users[0].source"),
    ({"users": [UserSpec("Ann", "a@old.example", "ann@elsewhere.com", "SPB")]},
     "order.users[0].target"),
    ({"users": [UserSpec("Ann", "a@old.example", "ann@contoso.com", "NOPE")]},
     "order.users[0].sku"),
    ({"users": [UserSpec("Ann", "a@old.example", "ann@contoso.com", "SPB"),
                UserSpec("Bob", "b@old.example", "ANN@contoso.com", "SPB")]},
     "order.users[1].target"),
])
def test_bad_order_input_names_the_field(change, field):
    with pytest.raises(InvalidInput) as err:
        check_spec(spec(**change), NOW)
    assert err.value.field == field
    assert field in str(err.value)


def test_good_order_is_normalised():
    out = check_spec(spec(poc=Poc(" Pat ", "PAT@Contoso.com")), NOW)
    assert out.poc == Poc("Pat", "pat@contoso.com")


def placed_state():
    s = act.init_state("o1", check_spec(spec(), NOW), NOW)
    from mailflip.domain.lifecycle import Change

    act.check_place(s, NOW, T, "partner").apply(Change(s, NOW, T))
    return s


@pytest.mark.parametrize("call,field", [
    (lambda s: act.check_add_user(s, NOW, T, "partner",
                                  UserSpec("Cy", "cy@old.example", "ann@contoso.com", "SPB")),
     "user.target"),
    (lambda s: act.check_add_user(s, NOW, T, "partner",
                                  UserSpec("Cy", "cy@old.example", "cy@other.org", "SPB")),
     "user.target"),
    (lambda s: act.check_add_user(s, NOW, T, "robot",
                                  UserSpec("Cy", "cy@old.example", "cy@contoso.com", "SPB")),
     "by"),
    (lambda s: act.check_remove_user(s, NOW, T, "partner", "nobody@contoso.com"), "address"),
    (lambda s: act.check_change_cutover(s, NOW, T, "partner", NOW + timedelta(hours=2)),
     "cutover"),
    (lambda s: act.check_change_cutover(s, NOW, T, "partner", NOW - timedelta(days=1)),
     "cutover"),
    (lambda s: act.check_release_hold(s, NOW, T, "partner", None), "by"),
    (lambda s: act.check_release_hold(s, NOW, T, "support", None), "action"),
    (lambda s: act.check_rerun_ctp(s, NOW, T, "support", "Make Coffee"), "ctp"),
    (lambda s: act.check_rerun_ctp(s, NOW, T, "support", "Setup Office 365 Account"), "ctp"),
    (lambda s: act.check_place(s, NOW, T, "partner"), "action"),
])
def test_refused_actions_name_the_field_and_change_nothing(call, field):
    s = placed_state()
    before = copy.deepcopy(s)
    with pytest.raises(InvalidInput) as err:
        call(s)
    assert err.value.field == field
    assert s == before


def test_r_lock_4h_partner_refused_support_allowed():
    s = placed_state()
    late = s.spec.cutover - timedelta(hours=3)
    user = UserSpec("Cy", "cy@old.example", "cy@contoso.com", "SPB")
    with pytest.raises(InvalidInput, match="R-LOCK-4H"):
        act.check_add_user(s, late, T, "partner", user)
    assert act.check_add_user(s, late, T, "support", user).user.target == "cy@contoso.com"
