"""Exchange Online cmdlets behind one interface (M365.md §2): `ExoRunner`, implemented
here over the REST `InvokeCommand` endpoint the ExchangeOnlineManagement v3 module uses
(undocumented by Microsoft, hence the single seam; a pwsh runner could replace it)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httpx

from mailflip.errors import TenantApiError, TenantNotReady
from mailflip.tenant.auth import EXCHANGE_SCOPE, TokenSource
from mailflip.tenant.conformance import check_invoke_command
from mailflip.tenant.http import TRANSIENT, Retry, Sleep, retry_wait
from mailflip.tenant.port import TenantRef

EXO_URL = "https://outlook.office365.com"
NOT_FOUND = "ManagementObjectNotFoundException"
EXISTS = ("ADObjectAlreadyExistsException", "MemberAlreadyExistsException")


class CmdletError(TenantApiError):
    """A cmdlet's own error; `code` is its exception's short name."""

    @property
    def not_found(self) -> bool:
        return self.code == NOT_FOUND

    @property
    def exists(self) -> bool:
        return self.code in EXISTS

    @property
    def domain_not_accepted(self) -> bool:
        """An address on a domain Exchange Online does not accept (yet: a domain verified
        in Entra moments ago reaches Exchange later, M365.md §9.3)."""
        return "is not an accepted domain" in self.message


class ExoRunner(Protocol):
    async def run(self, t: TenantRef, cmdlet: str, parameters: dict[str, Any]
                  ) -> list[dict[str, Any]]:
        """The cmdlet's output objects; CmdletError when it fails."""


class InvokeCommandRunner:
    def __init__(self, http: httpx.AsyncClient, tokens: TokenSource, exo_url: str = EXO_URL,
                 *, retry: Retry = Retry(), sleep: Sleep = asyncio.sleep) -> None:
        self._http = http
        self._tokens = tokens
        self._base = exo_url.rstrip("/")
        self._retry = retry
        self._sleep = sleep

    async def run(self, t: TenantRef, cmdlet: str, parameters: dict[str, Any]
                  ) -> list[dict[str, Any]]:
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}
        check_invoke_command(body)  # a non-conformant call is our bug: never sent
        url = f"{self._base}/adminapi/beta/{t.initial_domain}/InvokeCommand"
        waited = 0.0
        for attempt in range(self._retry.attempts):
            token = await self._tokens.token(t, EXCHANGE_SCOPE)
            response = await self._http.post(url, json=body,
                                             headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 200:
                return list(response.json().get("value") or [])
            if response.status_code not in TRANSIENT:
                raise _error(cmdlet, response)
            wait = retry_wait(dict(response.headers), attempt, self._retry)
            if attempt + 1 >= self._retry.attempts or waited + wait > self._retry.max_wait_s:
                raise TenantNotReady(f"{cmdlet}: Exchange Online is throttling", wait)
            await self._sleep(wait)
            waited += wait
        raise AssertionError("unreachable: the last attempt hands over")


def _error(cmdlet: str, response: httpx.Response) -> CmdletError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    # InvokeCommand's message is "|<exception type>|<text>"
    text = str(error.get("message", response.text)).rsplit("|", 1)[-1]
    return CmdletError(response.status_code, str(error.get("code", "")), f"{cmdlet}: {text}")
