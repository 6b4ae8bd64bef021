"""The token endpoint (client credentials) and bearer checks.

Tokens are JWTs as Entra ID's are (`aud`, `tid`, `appid`, `roles`, `exp`, ...), signed
(HS256) with the simulator's key, so a token is honoured only if this simulator issued
it, and still after a restart when the key is kept in the state directory. Roles are
fixed when the token is issued, as in a real access token, so a grant made later shows
up only in a new token, and a deleted app's tokens keep working until they expire
(M365.md §9.9).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailflip.tenant.simulator.config import EXCHANGE_SCOPE, GRAPH_SCOPE, Clock, Knobs
from mailflip.tenant.simulator.model import EXCHANGE_APP_ID, GRAPH_APP_ID, SimulatedTenant

RESOURCES = {GRAPH_SCOPE: GRAPH_APP_ID, EXCHANGE_SCOPE: EXCHANGE_APP_ID}


@dataclass(frozen=True)
class Grant:
    tenant_id: str
    client_id: str
    resource_app_id: str
    roles: tuple[str, ...]
    expires_at: float


class TokenError(Exception):
    """An AADSTS refusal: `{"error", "error_description"}` with its HTTP status."""

    def __init__(self, status: int, error: str, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.status = status
        self.body = {"error": error, "error_description": f"{code}: {text}",
                     "error_codes": [int(code.removeprefix("AADSTS"))]}


class Tokens:
    def __init__(self, tenants: Sequence[SimulatedTenant], knobs: Knobs, clock: Clock,
                 key: bytes = b"") -> None:
        self._tenants = tenants
        self._knobs = knobs
        self._clock = clock
        self._key = key or secrets.token_bytes(32)

    def tenant(self, name: str) -> SimulatedTenant | None:
        return next((t for t in self._tenants if t.answers_to(name)), None)

    def discovery(self, tenant_name: str, base: str) -> dict[str, object]:
        tenant = self.tenant(tenant_name)
        if tenant is None:
            raise TokenError(400, "invalid_tenant", "AADSTS90002",
                             f"Tenant '{tenant_name}' not found.")
        root = f"{base}/{tenant.tenant_id}"
        return {"issuer": f"{root}/v2.0", "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "token"]}

    def issue(self, tenant_name: str, form: Mapping[str, str]) -> dict[str, object]:
        tenant = self.tenant(tenant_name)
        if tenant is None:
            raise TokenError(400, "invalid_tenant", "AADSTS90002",
                             f"Tenant '{tenant_name}' not found. Check to make sure you have "
                             "the correct tenant ID and are signing into the correct cloud.")
        if form.get("grant_type") != "client_credentials":
            raise TokenError(400, "unsupported_grant_type", "AADSTS70003",
                             "The app requested an unsupported grant type: only "
                             "client_credentials is emulated.")
        client_id = form.get("client_id", "")
        if "client_assertion" in form:
            raise TokenError(401, "invalid_client", "AADSTS7000215",
                             "Invalid client secret provided: certificate credentials "
                             "(client_assertion) are not emulated by the local Microsoft 365; "
                             "use a client secret.")
        matches = tenant.secret_matches(client_id, form.get("client_secret", ""))
        if matches is None:
            raise TokenError(400, "unauthorized_client", "AADSTS700016",
                             f"Application with identifier '{client_id}' was not found in the "
                             f"directory '{tenant.tenant_id}'.")
        if not matches:
            raise TokenError(401, "invalid_client", "AADSTS7000215",
                             "Invalid client secret provided. Ensure the secret being sent in "
                             f"the request is the client secret value, not the client secret "
                             f"ID, for a secret added to app '{client_id}'.")
        resource = RESOURCES.get(form.get("scope", ""))
        if resource is None:
            raise TokenError(400, "invalid_scope", "AADSTS1002012",
                             f"The provided value for scope {form.get('scope', '')!r} is not "
                             f"valid. Client credential flows must have a scope value with "
                             f"/.default suffixed to the resource identifier: "
                             f"{GRAPH_SCOPE} or {EXCHANGE_SCOPE}.")
        now = self._clock()
        lifetime = self._knobs.token_lifetime_s
        grant = Grant(tenant.tenant_id, client_id, resource,
                      tuple(tenant.roles_of(client_id, resource, now)), now + lifetime)
        token = self._jwt(grant, now)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": token}

    def _jwt(self, grant: Grant, now: float) -> str:
        audience = next(scope for scope, app in RESOURCES.items()
                        if app == grant.resource_app_id).removesuffix("/.default")
        claims = {"aud": audience, "iss": f"https://sts.windows.net/{grant.tenant_id}/",
                  "iat": int(now), "nbf": int(now), "exp": int(grant.expires_at),
                  "tid": grant.tenant_id, "appid": grant.client_id, "idtyp": "app",
                  "roles": list(grant.roles), "jti": secrets.token_urlsafe(12)}
        signed = f"{_b64(_json({'typ': 'JWT', 'alg': 'HS256'}))}.{_b64(_json(claims))}"
        return f"{signed}.{_b64(self._sign(signed))}"

    def _sign(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()

    def grant(self, authorization: str | None, resource_app_id: str) -> Grant | None:
        """The grant behind `Authorization: Bearer <token>`, if valid for this resource."""
        scheme, _, token = (authorization or "").partition(" ")
        signed, _, mac = token.rpartition(".")
        if scheme.lower() != "bearer" or not signed:
            return None
        try:
            valid = hmac.compare_digest(self._sign(signed), _unb64(mac))
            claims = json.loads(_unb64(signed.partition(".")[2]))
        except ValueError:
            return None
        if not valid or RESOURCES.get(f"{claims.get('aud')}/.default") != resource_app_id:
            return None
        if claims["exp"] <= self._clock():
            return None
        return Grant(claims["tid"], claims["appid"], resource_app_id,
                     tuple(claims["roles"]), float(claims["exp"]))


def _json(part: dict[str, object]) -> bytes:
    return json.dumps(part, separators=(",", ":")).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
