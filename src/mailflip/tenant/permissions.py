"""What the admin app must hold in the customer's tenant, and how to read what it holds.

Application permissions an admin consents to travel in the access tokens' `roles` claim;
reading them lets Setup Office 365 Account and the pre-flight name a missing one (with
the admin-consent URL) before any call is refused for it. The services still enforce
them: this is read only to report.
"""

from __future__ import annotations

import base64
import json

GRAPH_PERMISSIONS = ("Organization.Read.All", "Domain.ReadWrite.All", "User.ReadWrite.All",
                     "LicenseAssignment.ReadWrite.All", "Application.ReadWrite.All",
                     "AppRoleAssignment.ReadWrite.All")
EXCHANGE_PERMISSIONS = ("Exchange.ManageAsApp",)


def consent_url(login_url: str, tenant: str, client_id: str) -> str:
    """Where the customer's admin grants the app its application permissions."""
    return f"{login_url.rstrip('/')}/{tenant}/adminconsent?client_id={client_id}"


def token_roles(token: str) -> list[str] | None:
    """The `roles` claim of an access token (a JWT), None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else []


def grant_advice(missing: list[str], consent: str) -> str:
    """What to do about missing permissions (the pre-flight's and Setup's words)."""
    return (f"missing {', '.join(missing)}: add them to the app and have an admin consent "
            f"at {consent}")


def missing_permissions(required: tuple[str, ...], granted: list[str] | None) -> list[str]:
    """The required permissions a token lacks ([] when its roles cannot be read)."""
    return [] if granted is None else [p for p in required if p not in granted]
