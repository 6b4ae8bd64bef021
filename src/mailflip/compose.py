"""THE composition root: settings -> the adapter of every port.

Each port is served by the adapter its setting names (`MAILFLIP_TENANT`, `_DNS`,
`_AGENTS`, `_NOTIFY`, `_MAIL`). A port with no adapter configured is an error at start,
never a silent fake, unless a simulated world was asked for explicitly (`--world`):
then the world serves every port that has no real adapter configured, and the worker
says so loudly. The store is the mirror in every case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.worker import Interceptor

from mailflip.config import Settings
from mailflip.errors import InvalidInput, StackError
from mailflip.lifecycle.worker import Adapters
from mailflip.store.repositories import SqlStore, create_store
from mailflip.store.sql_mirror import SqlMirror

# Set it, or run with --world: the one line a worker prints for an unconfigured port.
NOT_BUILT = {
    "tenant": "set MAILFLIP_TENANT=graph (the order's tenant credentials come from "
              "`mailflip orders credentials --kind tenant`)",
    "dns": "set MAILFLIP_DNS=resolver (and MAILFLIP_DNS_SERVER=HOST:PORT for a DNS server "
           "other than the system's)",
    "agents": "set MAILFLIP_AGENTS=api (and MAILFLIP_AGENTS_LISTEN=HOST:PORT for this "
              "worker to serve the agents' API, or run `mailflip agents serve`)",
    "notify": "set MAILFLIP_NOTIFY=smtp (with MAILFLIP_SMTP_HOST/PORT/FROM)",
    "mail": "set MAILFLIP_MAIL=order (each order's source host and tenant mailboxes) or "
            "MAILFLIP_MAIL=engine (with MAILFLIP_MAIL_ENDPOINTS)",
}


@dataclass
class Composition:
    adapters: Adapters
    store: SqlStore
    served_by: dict[str, str]  # port -> what serves it, for people
    world: Any = None  # the simulated world, when one was asked for
    interceptors: Sequence[Interceptor] = field(default_factory=list)

    @property
    def simulated(self) -> list[str]:
        return [port for port, who in self.served_by.items() if "simulated" in who]

    def close(self) -> None:
        self.store.close()


def _notifier(settings: Settings, store: SqlStore, world: Any) -> tuple[Any, str] | None:
    from mailflip.notify.links import Links
    from mailflip.notify.outbox import OutboxNotifier, Outgoing

    assert settings.secret_key is not None  # the settings' validator gives one
    links = Links(store, settings.secret_key.get_secret_value(), settings.public_url,
                  settings.agents_url)

    def notifier(deliver: Any) -> OutboxNotifier:
        return OutboxNotifier(store, deliver, links, settings.verify_interval_minutes)

    if settings.notify == "smtp":
        from mailflip.notify.smtp import SmtpDeliver

        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        if settings.smtp_user and not password:
            raise InvalidInput("MAILFLIP_SMTP_PASSWORD", "is missing: MAILFLIP_SMTP_USER is "
                               "set, so the server wants a login")
        deliver = SmtpDeliver(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                              security=settings.smtp_security, user=settings.smtp_user,
                              password=password, ca_file=settings.smtp_ca_file)
        tls = "" if settings.smtp_security == "none" else f" ({settings.smtp_security})"
        return (notifier(deliver),
                f"outbox + SMTP {settings.smtp_host}:{settings.smtp_port}{tls}")
    if world is None:
        return None

    async def to_world(out: Outgoing) -> None:  # the simulated SMTP host receives it
        await world.send("", out.key, "", out.to, {"subject": out.subject})

    return notifier(to_world), "outbox + simulated SMTP host"


def _mover(settings: Settings, store: SqlStore, world: Any) -> tuple[Any, str] | None:
    if settings.mail == "order":
        from mailflip.mail.engine_mover import EngineMover
        from mailflip.mail.order_endpoints import OrderEndpoints

        ends = OrderEndpoints(store, settings.m365_imap_url, migration_app_token(settings,
                                                                                 store),
                              settings.m365_ca_file)
        return (EngineMover(ends, settings.mail_state_dir),
                f"sync engine: each order's source host, into {settings.m365_imap_url} "
                "(XOAUTH2 as MigrationApp)")
    if settings.mail == "engine":
        from mailflip.mail.endpoints import load_endpoints
        from mailflip.mail.engine_mover import EngineMover

        if settings.mail_endpoints is None:
            raise InvalidInput("MAILFLIP_MAIL_ENDPOINTS", "required with MAILFLIP_MAIL=engine")
        table = load_endpoints(settings.mail_endpoints)
        return (EngineMover(table, settings.mail_state_dir),
                f"sync engine ({len(table.rows)} mailboxes in {settings.mail_endpoints})")
    return (world, "simulated world") if world is not None else None


def _tenant(settings: Settings, store: SqlStore, world: Any) -> tuple[Any, str] | None:
    if settings.tenant == "graph":
        return graph_tenant(settings, store), f"Microsoft Graph {settings.m365_graph_url}"
    return (world, "simulated world") if world is not None else None


TENANT_SECRET_FIELDS = ("tenant_id", "client_id", "client_secret")


def graph_tenant(settings: Settings, store: SqlStore) -> Any:
    """GraphTenant for the settings' endpoints. Each order's app credentials come from the
    vault (`mailflip orders credentials --kind tenant`), read at each sign-in so that new
    ones take effect at once; MigrationApp's own secret goes back into the vault."""
    import asyncio

    from mailflip.errors import CredentialsInvalid
    from mailflip.tenant.auth import TenantCredentials
    from mailflip.tenant.port import TenantRef

    async def credentials(t: TenantRef) -> TenantCredentials:
        try:
            secret = await asyncio.to_thread(store.load_credentials, t.order_id, "tenant")
        except InvalidInput as exc:
            raise CredentialsInvalid(str(exc)) from None
        missing = [f for f in TENANT_SECRET_FIELDS if not secret.get(f)]
        if missing:
            raise CredentialsInvalid(f"tenant credentials of order {t.order_id}: "
                                     f"{', '.join(missing)} missing")
        return TenantCredentials(secret["tenant_id"], secret["client_id"],
                                 secret["client_secret"])

    async def keep_app_secret(t: TenantRef, app_id: str, secret: str) -> None:
        await asyncio.to_thread(store.save_credentials, t.order_id, "migration_app",
                                {"client_id": app_id, "client_secret": secret})

    return graph_tenant_with(settings, credentials, keep_app_secret)[0]


def migration_app_token(settings: Settings, store: SqlStore) -> Any:
    """(order_id, mailbox) -> MigrationApp's Exchange Online token (IMAP with XOAUTH2),
    signed in with the app's credentials in the order's vault (its tenant from the
    `tenant` ones). InvalidInput when the vault lacks them."""
    import asyncio

    from mailflip.tenant.auth import EXCHANGE_SCOPE, MsalTokenSource, TenantCredentials
    from mailflip.tenant.port import TenantRef

    def load(order_id: str) -> TenantCredentials:
        tenant = store.load_credentials(order_id, "tenant")
        app = store.load_credentials(order_id, "migration_app")
        return TenantCredentials(tenant["tenant_id"], app["client_id"], app["client_secret"])

    async def credentials(t: TenantRef) -> TenantCredentials:
        return await asyncio.to_thread(load, t.order_id)

    ca = str(settings.m365_ca_file) if settings.m365_ca_file else None
    tokens = MsalTokenSource(credentials, settings.m365_login_url, verify=ca or True)

    async def token(order_id: str, mailbox: str, fresh: bool = False) -> str:
        # one token for every mailbox; `fresh`: issued anew, not from msal's cache
        return await tokens.token(TenantRef(order_id, ""), EXCHANGE_SCOPE, fresh=fresh)

    return token


def tenant_probe(settings: Settings, creds: Any) -> Any:
    """What `mailflip tenant check` reads a tenant with: the adapter's clients for the
    settings' endpoints, signed in with `creds` (TenantCredentials)."""
    from mailflip.tenant.preflight import Probe

    async def credentials(_: Any) -> Any:
        return creds

    tenant, tokens = graph_tenant_with(settings, credentials, None)
    return Probe(tenant.graph, tenant.exo, tokens, tenant.http, settings.m365_login_url,
                 creds.client_id, settings.m365_imap_url, _m365_tls(settings))


async def check_tenant(settings: Settings, creds: Any, tenant: str, order: Any = None, *,
                       add_domains: bool = False) -> Any:
    """`mailflip tenant check`'s pre-flight (tenant.preflight.Report) of `tenant` signed
    in with `creds`, for the settings' endpoints; also the portal wizard's tenant check."""
    from mailflip.tenant.preflight import run_preflight

    probe = tenant_probe(settings, creds)
    try:
        return await run_preflight(probe, tenant, order, add_domains=add_domains)
    finally:
        await probe.http.aclose()


def _m365_tls(settings: Settings) -> Any:
    """An ssl context trusting MAILFLIP_M365_CA_FILE (a local Microsoft 365), or None for
    the system's trust."""
    import ssl

    ca = settings.m365_ca_file
    return ssl.create_default_context(cafile=str(ca)) if ca else None


def graph_tenant_with(settings: Settings, credentials: Any, on_app_secret: Any = None
                      ) -> Any:
    """(GraphTenant, its token source) for the settings' endpoints and CA, signing in
    with `credentials` (TenantRef -> TenantCredentials)."""
    import httpx

    from mailflip.tenant.auth import MsalTokenSource
    from mailflip.tenant.graph import GraphTenant

    ca = str(settings.m365_ca_file) if settings.m365_ca_file else None  # msal wants a path
    tokens = MsalTokenSource(credentials, settings.m365_login_url, verify=ca or True)
    tenant = GraphTenant(
        credentials, login_url=settings.m365_login_url, graph_url=settings.m365_graph_url,
        exo_url=settings.m365_exo_url,
        http=httpx.AsyncClient(timeout=httpx.Timeout(60.0), verify=_m365_tls(settings) or True),
        tokens=tokens, on_app_secret=on_app_secret)
    return tenant, tokens


KNOWN = {"tenant": ("graph",), "dns": ("resolver",), "agents": ("api",), "notify": ("smtp",),
         "mail": ("order", "engine")}


def _check_names(settings: Settings) -> None:
    for port, names in KNOWN.items():
        value = getattr(settings, port)
        if value and value not in names:
            known = ", ".join(names) or "none yet"
            raise InvalidInput(f"MAILFLIP_{port.upper()}",
                               f"{value!r} is not a {port} adapter (known: {known})")


def compose(settings: Settings, world_spec: Any = None,
            store_factory: Callable[[str], SqlStore] = create_store) -> Composition:
    """The adapters for a worker. `world_spec` (a LiveWorldSpec, from --world) makes the
    simulated world serve every port without a real adapter configured."""
    _check_names(settings)
    world = None
    if world_spec is not None:
        from mailflip.simulate.live import LiveWorld

        world = LiveWorld(world_spec)
    store = store_factory(settings.database_url)
    try:
        picked: dict[str, tuple[Any, str] | None] = {
            port: (world, "simulated world") if world is not None else None
            for port in ("dns", "agents")}
        if settings.dns == "resolver":
            from mailflip.dns.resolver import DnsResolver

            resolver = DnsResolver(settings.dns_server)
            picked["dns"] = (resolver, resolver.described)
        if settings.agents == "api":
            from mailflip.agents.store_agents import StoreAgents, flip_server

            agents = StoreAgents(store, flip_server(settings.m365_imap_url))
            listen = f"; API served on {settings.agents_listen}" if settings.agents_listen \
                else ""
            picked["agents"] = (agents, f"desktop agents' API {settings.agents_url}{listen}")
        picked["tenant"] = _tenant(settings, store, world)
        picked["notify"] = _notifier(settings, store, world)
        picked["mail"] = _mover(settings, store, world)
        missing = [port for port, chosen in picked.items() if chosen is None]
        if missing:
            raise StackError("; ".join(
                f"no {port} adapter configured: {NOT_BUILT[port]}" for port in missing)
                + "; or run with --world FILE to play a simulated outside world")
    except BaseException:
        store.close()
        raise
    chosen = {port: c for port, c in picked.items() if c is not None}
    adapters = Adapters(tenant=chosen["tenant"][0], dns=chosen["dns"][0],
                        agents=chosen["agents"][0], notifier=chosen["notify"][0],
                        mover=chosen["mail"][0], mirror=SqlMirror(store))
    served = {port: who for port, (_, who) in chosen.items()}
    served["store"] = repr(store)
    return Composition(adapters, store, served, world=world,
                       interceptors=[world.faults()] if world is not None else [])
