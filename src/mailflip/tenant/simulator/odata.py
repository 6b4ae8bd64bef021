"""OData reply shapes: `@odata.context`, paging with `@odata.nextLink`, `$top`,
`$select`, and the one `$filter` form the adapter uses (`<property> eq '<value>'`)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from mailflip.tenant.simulator.graph_call import GraphCall
from mailflip.tenant.simulator.replies import Reply, bad_request, not_emulated

MAX_TOP = 999  # Graph's largest page for directory objects
_EQ = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def context(call: GraphCall, what: str) -> str:
    return f"{call.base}/$metadata#{what}"


def entity(call: GraphCall, item: dict[str, Any], what: str, status: int = 200) -> Reply:
    return Reply(status, {"@odata.context": context(call, what), **_select(call, item)})


def collection(call: GraphCall, items: list[dict[str, Any]], what: str) -> Reply:
    """One page of `items` (filtered first); a nextLink when more remain."""
    items = _filter(call, items)
    size = call.knobs.page_size or MAX_TOP
    if "$top" in call.query:
        size = min(int(call.query["$top"]), MAX_TOP)
    start = _offset(call.query.get("$skiptoken"))
    page = items[start:start + size]
    body: dict[str, Any] = {"@odata.context": context(call, what),
                            "value": [_select(call, item) for item in page]}
    if start + size < len(items):
        query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = _token(start + size)
        body["@odata.nextLink"] = (f"{call.base}{call.path}?"
                                   f"{urlencode(query, safe='$,')}")
    return Reply(200, body)


def _select(call: GraphCall, item: dict[str, Any]) -> dict[str, Any]:
    chosen = call.query.get("$select")
    if not chosen:
        return item
    names = {n.strip() for n in chosen.split(",")}
    return {k: v for k, v in item.items() if k in names or k.startswith("@odata.")}


def eq_filter(call: GraphCall) -> tuple[str, str] | None:
    """(property, lower-cased value) of the request's `$filter`, None without one."""
    expression = call.query.get("$filter")
    if expression is None:
        return None
    match = _EQ.match(expression)
    if match is None:
        raise not_emulated(f"the $filter expression {expression!r} (only "
                           "\"<property> eq '<value>'\" is)")
    return match.group(1), match.group(2).replace("''", "'").lower()


def _filter(call: GraphCall, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = eq_filter(call)
    if wanted is None:
        return items
    prop, value = wanted
    return [i for i in items if str(i.get(prop, "")).lower() == value]


def _token(offset: int) -> str:
    # opaque to clients, as Graph's are: they must follow nextLink, not build it
    return base64.urlsafe_b64encode(f"sim:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(raw.removeprefix("sim:"))
    except ValueError as exc:
        raise bad_request(f"Invalid $skiptoken {token!r}.", "BadRequest") from exc
