"""Graph v1.0 over httpx: conformance check before sending, bearer tokens, `Retry-After`
on 429/503/504 (M365.md §6), `$batch` with per-item retries, `@odata.nextLink` paging.

Waiting is bounded inside one activity attempt: beyond `max_wait_s` in total (or a
single Retry-After longer than that) the call raises TenantNotReady with the delay, so
Temporal's retry policy does the long waits, not a sleeping worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mailflip.errors import CredentialsInvalid, TenantApiError, TenantNotReady
from mailflip.tenant.auth import GRAPH_SCOPE, TokenSource
from mailflip.tenant.conformance import check_request
from mailflip.tenant.port import TenantRef

GRAPH_URL = "https://graph.microsoft.com"
TRANSIENT = (429, 503, 504)
BATCH_SIZE = 20
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    """How much one activity attempt waits out before handing the wait to Temporal."""

    attempts: int = 6
    max_wait_s: float = 60.0
    backoff_s: float = 2.0  # first wait when Retry-After is missing; doubles


@dataclass
class GraphReply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str:
        error = (self.body or {}).get("error", {}) if isinstance(self.body, dict) else {}
        return str(error.get("code", ""))

    @property
    def detail_codes(self) -> list[str]:
        error = (self.body or {}).get("error", {}) if isinstance(self.body, dict) else {}
        return [str(d.get("code", "")) for d in error.get("details") or []]

    @property
    def message(self) -> str:
        error = (self.body or {}).get("error", {}) if isinstance(self.body, dict) else {}
        return str(error.get("message", ""))

    def raise_for_error(self) -> None:
        if self.status == 403 and self.error_code == "Authorization_RequestDenied":
            # the app was not granted what this call needs: the partner's to fix
            raise CredentialsInvalid(f"403 {self.error_code}: {self.message} (the admin "
                                     "app lacks a permission; `mailflip tenant check` "
                                     "names it)")
        if self.status >= 400:
            raise TenantApiError(self.status, self.error_code, self.message)


def retry_wait(headers: dict[str, str], attempt: int, retry: Retry) -> float:
    given = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(given) if given is not None else retry.backoff_s * 2 ** attempt
    except ValueError:
        return retry.backoff_s * 2 ** attempt


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:  # a proxy's HTML error page, say: keep the status, drop the body
        return None


class GraphClient:
    def __init__(self, http: httpx.AsyncClient, tokens: TokenSource,
                 graph_url: str = GRAPH_URL, *, retry: Retry = Retry(),
                 sleep: Sleep = asyncio.sleep) -> None:
        self._http = http
        self._tokens = tokens
        self._base = graph_url.rstrip("/") + "/v1.0"
        self._retry = retry
        self._sleep = sleep

    async def call(self, t: TenantRef, method: str, path: str, body: Any = None, *,
                   resend_on_timeout: bool = True) -> GraphReply:
        """One request (retried while transient); the reply, error replies included.

        A 504 may follow a committed write (M365.md §9.5). Creates that Graph refuses
        twice (ObjectConflict) are safe to resend; for one it would duplicate (an
        application: displayName is not unique) pass `resend_on_timeout=False` and
        look the object up on a 504."""
        url = path if path.startswith("http") else self._base + path
        check_request(method, url, body)  # a non-conformant call is our bug: never sent
        waited = 0.0
        for attempt in range(self._retry.attempts):
            token = await self._tokens.token(t, GRAPH_SCOPE)
            response = await self._http.request(
                method, url, json=body, headers={"Authorization": f"Bearer {token}"})
            reply = GraphReply(response.status_code, _json(response), dict(response.headers))
            if reply.status not in TRANSIENT or (reply.status == 504
                                                  and not resend_on_timeout):
                return reply
            wait = retry_wait(reply.headers, attempt, self._retry)
            waited = await self._wait_or_hand_over(f"{method} {path}", wait, waited,
                                                   attempt)
        raise AssertionError("unreachable: the last attempt hands over")

    async def _wait_or_hand_over(self, what: str, wait: float, waited: float,
                                 attempt: int) -> float:
        if attempt + 1 >= self._retry.attempts or waited + wait > self._retry.max_wait_s:
            raise TenantNotReady(f"{what}: throttled or unavailable; retry later", wait)
        await self._sleep(wait)
        return waited + wait

    async def ok(self, t: TenantRef, method: str, path: str, body: Any = None) -> Any:
        reply = await self.call(t, method, path, body)
        reply.raise_for_error()
        return reply.body

    async def pages(self, t: TenantRef, path: str) -> AsyncIterator[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink (never built by hand)."""
        next_url: str | None = path
        while next_url:
            body = await self.ok(t, "GET", next_url)
            for item in body.get("value", []):
                yield item
            next_url = body.get("@odata.nextLink")

    async def all(self, t: TenantRef, path: str) -> list[dict[str, Any]]:
        return [item async for item in self.pages(t, path)]

    async def batch(self, t: TenantRef, requests: list[tuple[str, str, Any]]
                    ) -> list[GraphReply]:
        """Many independent requests through `$batch` (20 a batch); items answered
        429/503/504 are sent again after the longest Retry-After among them."""
        replies: dict[int, GraphReply] = {}
        todo = list(range(len(requests)))
        waited = 0.0
        for attempt in range(self._retry.attempts):
            retry: list[int] = []
            wait = 0.0
            for start in range(0, len(todo), BATCH_SIZE):
                chunk = todo[start:start + BATCH_SIZE]
                for index, reply in zip(chunk, await self._one_batch(t, requests, chunk),
                                        strict=True):
                    if reply.status in TRANSIENT:
                        retry.append(index)
                        wait = max(wait, retry_wait(reply.headers, attempt, self._retry))
                    replies[index] = reply
            if not retry:
                break
            todo = retry
            waited = await self._wait_or_hand_over("$batch", wait, waited, attempt)
        return [replies[i] for i in range(len(requests))]

    async def _one_batch(self, t: TenantRef, requests: list[tuple[str, str, Any]],
                         chunk: list[int]) -> list[GraphReply]:
        items = []
        for index in chunk:
            method, url, body = requests[index]
            item: dict[str, Any] = {"id": str(index), "method": method, "url": url}
            if body is not None:
                item["body"] = body
                item["headers"] = {"Content-Type": "application/json"}
            items.append(item)
        reply = await self.ok(t, "POST", "/$batch", {"requests": items})
        by_id = {r["id"]: r for r in reply["responses"]}
        return [GraphReply(int(by_id[str(i)]["status"]), by_id[str(i)].get("body"),
                           dict(by_id[str(i)].get("headers") or {})) for i in chunk]
