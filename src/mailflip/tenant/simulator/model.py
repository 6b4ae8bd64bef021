"""One simulated Microsoft 365 tenant's directory: plain dataclasses, no I/O, no clock.

Times are seconds since the epoch passed in by the caller, so the same state answers
"is it visible yet?" for a manual clock in tests and the wall clock when serving.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from mailflip.tenant.simulator.config import AppConfig, SkuConfig, TenantConfig
from mailflip.tenant.simulator.exchange import Exchange

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online
# The app roles the simulator's resource service principals offer. Their ids are derived
# from the names (not Microsoft's GUIDs): an adapter must look a role up by its value in
# the resource's appRoles, as it has to against a real tenant anyway.
GRAPH_ROLES = ("Application.Read.All", "Application.ReadWrite.All",
               "AppRoleAssignment.ReadWrite.All", "Directory.Read.All",
               "Directory.ReadWrite.All", "Domain.Read.All", "Domain.ReadWrite.All",
               "LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All",
               "Mail.ReadWrite", "Mail-Advanced.ReadWrite.All", "Organization.Read.All",
               "Organization.ReadWrite.All", "User.Read.All", "User.ReadWrite.All")
EXCHANGE_ROLES = ("Exchange.ManageAsApp", "IMAP.AccessAsApp", "full_access_as_app")
_ROLE_NS = uuid.UUID("6b0c1e0e-6d61-496c-9f66-6c6970000000")


def role_id(resource_app_id: str, value: str) -> str:
    return str(uuid.uuid5(_ROLE_NS, f"{resource_app_id}/{value}"))


@dataclass
class Domain:
    id: str
    is_verified: bool = False
    is_initial: bool = False
    is_default: bool = False
    supported_services: list[str] = field(default_factory=list)
    email_enabled_at: float | None = None  # when Email was added (accepted-domain lag)


@dataclass
class Sku:
    config: SkuConfig
    consumed: int = 0


@dataclass
class User:
    id: str
    user_principal_name: str
    display_name: str
    mail_nickname: str
    account_enabled: bool
    created_at: float
    mail: str | None = None
    usage_location: str | None = None
    usage_location_visible_at: float = 0.0
    licenses: list[str] = field(default_factory=list)  # skuIds
    hidden_reads: int = 0  # eventual consistency: by-id reads still answered 404
    extra: dict[str, Any] = field(default_factory=dict)  # other writable properties


@dataclass
class Application:
    id: str
    app_id: str
    display_name: str
    created_at: float
    body: dict[str, Any] = field(default_factory=dict)  # what the creator sent
    secrets: dict[str, str] = field(default_factory=dict)  # keyId -> secret text


@dataclass
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    app_roles: dict[str, str] = field(default_factory=dict)  # role id -> value


@dataclass
class RoleGrant:
    id: str
    principal_id: str  # the client's service principal
    resource_id: str  # the resource's service principal
    app_role_id: str
    created_at: float
    effective_at: float  # tokens issued from then on carry the role


@dataclass
class AdminApp:
    """A consented app from the config: its grants exist outside the simulated graph."""

    config: AppConfig


@dataclass
class SimulatedTenant:
    tenant_id: str
    display_name: str
    domains: dict[str, Domain] = field(default_factory=dict)  # lower-case id -> domain
    skus: dict[str, Sku] = field(default_factory=dict)  # skuId -> sku
    users: dict[str, User] = field(default_factory=dict)  # id -> user
    applications: dict[str, Application] = field(default_factory=dict)
    service_principals: dict[str, ServicePrincipal] = field(default_factory=dict)
    grants: dict[str, RoleGrant] = field(default_factory=dict)
    deleted: dict[str, Application] = field(default_factory=dict)  # 30-day soft delete
    admin_apps: dict[str, AdminApp] = field(default_factory=dict)  # client id -> app
    exchange: Exchange = field(default_factory=Exchange)

    @classmethod
    def from_config(cls, config: TenantConfig) -> SimulatedTenant:
        tenant = cls(config.tenant_id, config.display_name)
        initial = config.initial_domain.lower()
        tenant.domains[initial] = Domain(initial, is_verified=True, is_initial=True,
                                         is_default=True, supported_services=["Email"],
                                         email_enabled_at=0.0)
        for sku in config.skus:
            tenant.skus[sku.sku_id] = Sku(sku)
        for app in config.apps:
            tenant.admin_apps[app.client_id] = AdminApp(app)
        for app_id, name, roles in ((GRAPH_APP_ID, "Microsoft Graph", GRAPH_ROLES),
                                    (EXCHANGE_APP_ID, "Office 365 Exchange Online",
                                     EXCHANGE_ROLES)):
            sp = ServicePrincipal(new_id(), app_id, name,
                                  {role_id(app_id, r): r for r in roles})
            tenant.service_principals[sp.id] = sp
        return tenant

    @property
    def initial_domain(self) -> str:
        return next(d.id for d in self.domains.values() if d.is_initial)

    def answers_to(self, name: str) -> bool:
        """Whether `name` (the {tenant} of a URL) names this tenant."""
        key = name.lower()
        return key == self.tenant_id.lower() or (
            key in self.domains and self.domains[key].is_verified)

    def user(self, key: str) -> User | None:
        """By id or userPrincipalName, as Graph's /users/{id | userPrincipalName}."""
        if key in self.users:
            return self.users[key]
        lowered = key.lower()
        return next((u for u in self.users.values()
                     if u.user_principal_name.lower() == lowered), None)

    def sp_by_app_id(self, app_id: str) -> ServicePrincipal | None:
        return next((s for s in self.service_principals.values() if s.app_id == app_id), None)

    def verification_code(self, domain: str) -> str:
        return verification_code(self.tenant_id, domain)

    def roles_of(self, client_id: str, resource_app_id: str, now: float) -> list[str]:
        """The roles a token issued now carries for this client and resource."""
        admin = self.admin_apps.get(client_id)
        roles: set[str] = set()
        if admin is not None:
            roles.update(admin.config.graph_permissions if resource_app_id == GRAPH_APP_ID
                         else admin.config.exchange_permissions)
        client = self.sp_by_app_id(client_id)
        resource = self.sp_by_app_id(resource_app_id)
        if client is not None and resource is not None:
            for grant in self.grants.values():
                if (grant.principal_id == client.id and grant.resource_id == resource.id
                        and grant.effective_at <= now):
                    roles.add(resource.app_roles.get(grant.app_role_id, ""))
        roles.discard("")
        return sorted(roles)

    def secret_matches(self, client_id: str, secret: str) -> bool | None:
        """None: no such app in this tenant; else whether the secret is one of its own."""
        admin = self.admin_apps.get(client_id)
        if admin is not None:
            return admin.config.client_secret == secret
        app = next((a for a in self.applications.values() if a.app_id == client_id), None)
        if app is None:
            return None
        return secret in app.secrets.values()


def verification_code(tenant_id: str, domain: str) -> str:
    """`MS=ms<8 digits>`: stable per tenant and domain, as Microsoft's is."""
    digest = hashlib.sha256(f"{tenant_id}/{domain.lower()}".encode()).hexdigest()
    return f"MS=ms{int(digest[:12], 16) % 100_000_000:08d}"


def new_id() -> str:
    return str(uuid.uuid4())
