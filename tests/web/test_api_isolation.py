"""Partner isolation over the whole API: every route of the OpenAPI schema, called as
partner A with a well-formed request against partner B's order, answers 403 or 404 and
changes nothing; the routes without an order show A nothing of B's."""

from __future__ import annotations

from typing import Any

from mailflip.store.repositories import SqlStore
from tests.web.conftest import ANN
from tests.web.live import live_portal

B_ORDER = "o-bravo"  # partner bravo-msp's (tests/web/conftest.py)
PATH_VALUES = {"order_id": B_ORDER, "kind": "tenant", "idx": "0", "token_id": "00000000"}


def example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A value the schema accepts, made of its required parts."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return example(spec["components"]["schemas"][name], spec)
    if "anyOf" in schema:
        return example(schema["anyOf"][0], spec)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        out = {k: example(props[k], spec) for k in schema.get("required", [])}
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict):
            out = {"field": example(extra, spec)}
        return out
    return {"string": "x@contoso.example", "boolean": False, "integer": 0,
            "array": [], "number": 0}.get(str(kind), "x")


def requests(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, httpx keyword arguments) for every operation of the schema."""
    out = []
    for path, ops in spec["paths"].items():
        url = path.format(**PATH_VALUES)
        for method, op in ops.items():
            kwargs: dict[str, Any] = {}
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                kwargs["json"] = example(content["application/json"]["schema"], spec)
            elif "text/csv" in content:
                kwargs["content"] = "name,source,target,sku\n"
                kwargs["headers"] = {"Content-Type": "text/csv"}
            out.append((method.upper(), url, kwargs))
    return out


async def test_partner_a_gets_403_or_404_from_every_api_route_on_partner_b_s_order(
        web_store: SqlStore) -> None:
    token = web_store.new_api_token(ANN, "isolation")[1]
    before = web_store.get_order(B_ORDER)
    async with live_portal(web_store) as live, live.http(token) as api:
        spec = (await api.get("/openapi.json")).json()
        calls = requests(spec)
        order_routes = [c for c in calls if B_ORDER in c[1]]
        assert len(order_routes) >= 15, [c[1] for c in calls]  # every order action is there
        for method, url, kwargs in order_routes:
            r = await api.request(method, url, **kwargs)
            assert r.status_code in (403, 404), (method, url, r.status_code, r.text)
            assert "Bravo" not in r.text
        for method, url, kwargs in calls:
            if B_ORDER in url or not url.startswith("/api/"):
                continue
            r = await api.request(method, url, **kwargs)
            assert B_ORDER not in r.text and "Bravo" not in r.text, (method, url, r.text)
            if url in ("/api/alerts", "/api/audit"):
                assert r.status_code == 403, (url, r.status_code)
    assert web_store.get_order(B_ORDER) == before
    assert [a for a in web_store.audit_log() if a.order_id == B_ORDER] == []
