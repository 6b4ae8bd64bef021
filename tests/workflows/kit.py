"""Scenarios for workflow tests: a small base order, overridden per test, run by the
same driver as `mailflip simulate` (real workflows, time-skipping server)."""

from __future__ import annotations

import copy
from typing import Any

from mailflip.lifecycle.order.messages import EngineSettings
from mailflip.simulate.runner import Driver, Outcome
from mailflip.simulate.scenario import parse

START = "2026-12-01T09:00:00Z"


def base(**order: Any) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "start": START,
        "until": "+30d",
        "order": {
            "partner": "acme-msp",
            "partner_email": "ops@acme.example",
            "customer": "Contoso",
            "poc": {"name": "Pat Doe", "email": "pat@contoso.com"},
            "cutover": "+21d",
            "source": {"kind": "imap", "host": "mail.contoso.com", "admin_credentials": True},
            "tenant": {"initial_domain": "contoso.onmicrosoft.com"},
            "vanity_domains": ["contoso.com"],
            "users": users(2),
        },
        "world": {
            "tenant": {"licenses": {"SPB": 100}, "verified_domains": ["contoso.com"]},
            "dns": {"contoso.com": {"mx_to_m365_at": "+1d"}},
        },
        "events": [{"at": "+0m", "action": "place"}],
    }
    sc["order"].update(order)
    return sc


def users(n: int, domain: str = "contoso.com", start: int = 1) -> list[dict[str, str]]:
    return [{"name": f"User {i}", "source": f"u{i}@{domain}", "target": f"u{i}@{domain}",
             "sku": "SPB"} for i in range(start, start + n)]


def merge(sc: dict[str, Any], **sections: Any) -> dict[str, Any]:
    out = copy.deepcopy(sc)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


async def run(sc: dict[str, Any], settings: EngineSettings | None = None,
              keep_histories: bool = False) -> Outcome:
    return await Driver(parse(sc), settings, keep_histories).run()


def of(outcome: Outcome, kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in outcome.lines if e["kind"] == kind
            and all(e.get(k) == v for k, v in match.items())]


def first(outcome: Outcome, kind: str, **match: Any) -> dict[str, Any]:
    found = of(outcome, kind, **match)
    assert found, f"no {kind} event matching {match}"
    return found[0]


def statuses(outcome: Outcome) -> list[str]:
    return [e["status"] for e in of(outcome, "status")]


def ctp_states(outcome: Outcome, ctp: str) -> list[str]:
    return [e["state"] for e in of(outcome, "ctp", ctp=ctp)]
