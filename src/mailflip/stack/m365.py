"""The local Microsoft 365 inside `mailflip up` and `mailflip demo`.

When no tenant adapter is configured, the local stack serves a local Microsoft 365
(`mailflip sim m365`'s, state in DATA_DIR/m365) on a local https port, in the worker's
own process, and points the worker's real tenant adapter (GraphTenant: msal, Graph v1.0,
Exchange Online cmdlets) at it. An order signs in with the local tenant's app
credentials, given as for a real tenant (`mailflip orders credentials ORDER --kind
tenant --file DATA_DIR/m365/tenant.yaml`; the demo order gets them itself).

Domain verification looks the TXT record up in DNS: the stack's local DNS (stack/dns.py),
where the world, playing the partner, publishes it; or the DNS the settings name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from mailflip.config import Settings
from mailflip.localnet import ensure_free
from mailflip.tenant.simulator.config import Knobs, Resolver, no_dns
from mailflip.tenant.simulator.local import LocalM365, prepare

PORT = 8365
IMAP_PORT = 8993  # outlook.office365.com:993's stand-in
INITIAL_DOMAIN = "contoso.onmicrosoft.com"
LICENCES = 1000
# Microsoft's behaviours, at a pace a person watching an order on one machine can follow:
# mailboxes appear 20 s after their licence (minutes in Microsoft 365), an accepted
# domain and a new role grant 10 s after the change; throttling, replication lag and
# paging as `mailflip sim m365`'s defaults.
LOCAL_PACE = replace(Knobs(), mailbox_delay_s=20.0, accepted_domain_delay_s=10.0,
                     grant_delay_s=10.0)


def prepare_local(data_dir: Path, port: int = PORT, imap_port: int = IMAP_PORT,
                  resolver: Resolver = no_dns) -> LocalM365:
    """The local tenant in DATA_DIR/m365 (made once, reused), verifying domains with
    `resolver`'s TXT lookups."""
    return prepare(data_dir / "m365", "127.0.0.1", port, initial_domain=INITIAL_DOMAIN,
                   licences=LICENCES, resolver=resolver, knobs=LOCAL_PACE,
                   imap_port=imap_port)


def tenant_domains(app: Any) -> list[tuple[str, list[str]]]:
    """(tenant id, domain names) of the served local Microsoft 365 (create_app's)."""
    return [(t.tenant_id, [d.id for d in t.domains.values()])
            for t in app.state.tenants.values()]


def local_settings(settings: Settings, local: LocalM365) -> Settings:
    """The worker's settings with the tenant port on the local Microsoft 365."""
    return settings.model_copy(update={
        "tenant": "graph", "m365_login_url": local.url, "m365_graph_url": local.url,
        "m365_exo_url": local.url, "m365_ca_file": local.cert,
        "m365_imap_url": local.imap_url})


@asynccontextmanager
async def serving(local: LocalM365, host: str = "127.0.0.1",
                  options: tuple[str, str] = ("--m365-port", "--m365-imap-port")
                  ) -> AsyncIterator[Any]:
    """Serve `local` in this event loop until the block ends (its state saved): https
    (sign-in, Graph, Exchange Online) and, when it has an IMAP port, its mailboxes
    (imap_front, with a Dovecot holding the mail in `local.mail_dir`). Yields the app.
    `options`: the command's options for the two ports, named when one is taken."""
    from mailflip.tenant.simulator.app import create_app
    from mailflip.tenant.simulator.app import serving as serving_https
    from mailflip.tenant.simulator.imap_front import imap_endpoint

    app = create_app(local.config, local.state_file)
    port = int(local.url.rsplit(":", 1)[1])
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serving_https(app, host, port, cert=local.cert,
                                                      key=local.key, option=options[0]))
        if local.imap_port:
            ensure_free(host, local.imap_port, "mailflip sim m365", options[1])
            await stack.enter_async_context(imap_endpoint(
                app, host=host, port=local.imap_port, cert=local.cert, key=local.key,
                mail_dir=local.mail_dir, introspection_url=f"{local.url}/_imap/introspect"))
        yield app

