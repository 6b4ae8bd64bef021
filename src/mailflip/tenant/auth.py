"""App-only access tokens for a customer's tenant (client credentials, M365.md §0).

`TokenSource` is what the Graph client and the Exchange runner ask; `MsalTokenSource` is
the production one (msal keeps a token cache per scope). `FormTokenSource` speaks the
same OAuth form POST over an injected httpx client, so in-process tests need no sockets.
Credentials come from a callable of the composition root and are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from mailflip.errors import CredentialsInvalid
from mailflip.tenant.port import TenantRef

LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
# AADSTS codes that mean "these credentials will not work until someone changes them"
_REFUSED = {7000215, 700016, 90002, 7000222, 700027}
_EXPIRY_MARGIN_S = 120  # renew a little early: a token must not expire mid-request


@dataclass(frozen=True)
class TenantCredentials:
    tenant: str  # directory id or initial domain
    client_id: str
    client_secret: str = field(repr=False)  # never in a log line or a traceback's repr


CredentialsSource = Callable[[TenantRef], Awaitable[TenantCredentials]]


class TokenSource(Protocol):
    async def token(self, t: TenantRef, scope: str) -> str:
        """A bearer token for `scope`; CredentialsInvalid when the tenant refuses."""


def _refusal(reply: dict[str, Any]) -> CredentialsInvalid:
    codes = reply.get("error_codes") or []
    # first line of error_description: the AADSTS code and its reason, no secret in it
    reason = str(reply.get("error_description", "")).splitlines()[0:1]
    return CredentialsInvalid(f"the tenant refused the credentials ({reply.get('error')}, "
                              f"{codes}): {''.join(reason)}")


def _is_refusal(reply: dict[str, Any]) -> bool:
    codes = {int(c) for c in reply.get("error_codes") or []}
    return bool(codes & _REFUSED) or reply.get("error") in (
        "invalid_client", "unauthorized_client", "invalid_tenant")


class MsalTokenSource:
    """msal's ConfidentialClientApplication per tenant + client; msal is synchronous, so
    it runs in a thread. `verify` is a CA bundle for a login host with a private CA
    (the local Microsoft 365 over TLS); msal refuses plain-http authorities. That bundle
    is kept even where REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are set (many machines set
    them), which would otherwise replace it on every request (`_pinned_session`)."""

    def __init__(self, credentials: CredentialsSource, login_url: str = LOGIN_URL, *,
                 verify: bool | str = True) -> None:
        self._credentials = credentials
        self._login_url = login_url.rstrip("/")
        self._verify = verify
        self._apps: dict[tuple[str, str, str], Any] = {}

    async def token(self, t: TenantRef, scope: str, fresh: bool = False) -> str:
        """`fresh`: a token issued now, not msal's cached one (which may have been issued
        before the app's permission took effect, and lack it for its whole hour)."""
        creds = await self._credentials(t)
        return await asyncio.to_thread(self._acquire, t, creds, scope, fresh)

    def _acquire(self, t: TenantRef, creds: TenantCredentials, scope: str,
                 fresh: bool = False) -> str:
        import msal  # heavy (requests, cryptography): only when a token is needed

        # keyed by the secret's digest too: a changed secret must not reuse a cached app
        digest = hashlib.sha256(creds.client_secret.encode()).hexdigest()
        key = (creds.tenant, creds.client_id, digest)
        app = self._apps.get(key)
        if app is None:
            try:
                # a national cloud or the simulator is not in msal's list of Microsoft
                # hosts: skip instance discovery, the tenant's OIDC discovery still runs
                app = msal.ConfidentialClientApplication(
                    creds.client_id, client_credential=creds.client_secret,
                    authority=f"{self._login_url}/{creds.tenant}", validate_authority=False,
                    instance_discovery=False, http_client=_pinned_session(self._verify))
            except ValueError as exc:  # OIDC discovery 4xx: the tenant is unknown there
                raise CredentialsInvalid(f"the login service does not know the tenant "
                                         f"{creds.tenant!r}") from exc
            self._apps[key] = app
        if fresh:
            app.remove_tokens_for_client()
        reply = app.acquire_token_for_client(scopes=[scope])  # cached per scope by msal
        if "access_token" in reply:
            return str(reply["access_token"])
        if _is_refusal(reply):
            raise _refusal(reply)
        raise ConnectionError(f"token request failed: {reply.get('error')}")


def _pinned_session(verify: bool | str) -> Any:
    """A requests session whose `verify` is the one given: requests lets the CA bundle
    environment variables override a session's own (psf/requests#3829); proxies and the
    rest of the environment still apply."""
    import requests

    class Pinned(requests.Session):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
            merged = super().merge_environment_settings(*args, **kwargs)
            merged["verify"] = verify
            return merged

    session = Pinned()
    session.verify = verify
    return session


class FormTokenSource:
    """The client-credentials form POST over an httpx client, cached per scope."""

    def __init__(self, credentials: CredentialsSource, http: httpx.AsyncClient,
                 login_url: str = LOGIN_URL, clock: Callable[[], float] = time.time) -> None:
        self._credentials = credentials
        self._http = http
        self._login_url = login_url.rstrip("/")
        self._clock = clock
        self._cache: dict[tuple[str, str, int, str], tuple[str, float]] = {}

    async def token(self, t: TenantRef, scope: str) -> str:
        creds = await self._credentials(t)
        key = (creds.tenant, creds.client_id, t.credentials_version, scope)
        cached = self._cache.get(key)
        if cached and cached[1] > self._clock():
            return cached[0]
        reply = await self._http.post(
            f"{self._login_url}/{creds.tenant}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": creds.client_id,
                  "client_secret": creds.client_secret, "scope": scope})
        body = reply.json()
        if reply.status_code != 200:
            if _is_refusal(body):
                raise _refusal(body)
            raise ConnectionError(f"token request failed: {reply.status_code}")
        expires = self._clock() + float(body.get("expires_in", 0)) - _EXPIRY_MARGIN_S
        self._cache[key] = (str(body["access_token"]), expires)
        return str(body["access_token"])
