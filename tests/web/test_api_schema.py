"""Schemathesis against the API's own OpenAPI schema, over HTTP with a partner's token,
on real order workflows: generated requests to every operation get no 5xx, and every
answer conforms to the schema (status codes, content types, bodies, headers). Not run:
schemathesis' "positive data acceptance", which counts a 422 for a request the schema
allows as a failure: the API's own checks (a cutover inside the lock window, an unknown
partner...) refuse such requests by design, naming the field."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings

from mailflip.store.repositories import SqlStore
from tests.web.conftest import ANN
from tests.web.live import demo_order, live_portal, served

pytestmark = pytest.mark.slow
EXAMPLES = 12  # generated requests per operation


def fuzz(base: str, token: str) -> tuple[int, list[str]]:
    """Every operation, EXAMPLES requests each: (operations, the failures' text)."""
    import schemathesis
    from schemathesis import checks

    wanted = [checks.not_a_server_error, checks.status_code_conformance,
              checks.content_type_conformance, checks.response_schema_conformance,
              checks.response_headers_conformance]
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, checks=wanted,
                                   headers={"Authorization": f"Bearer {token}"})

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected, all reported at the end
            failures.append(f"{op.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    return operations, failures


async def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_schema(
        web_store: SqlStore) -> None:
    token = web_store.new_api_token(ANN, "schemathesis")[1]
    async with live_portal(web_store) as live, served(live) as base:
        async with live.http(token) as api:  # one real order for the routes to find
            assert (await api.post("/api/orders", json=demo_order())).status_code == 201
        operations, failures = await asyncio.to_thread(fuzz, base, token)
    assert operations >= 25  # every API route
    assert not failures, "\n\n".join(failures)
