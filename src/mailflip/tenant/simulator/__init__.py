"""The local Microsoft 365: token endpoint, Graph v1.0 subset and Exchange Online
InvokeCommand on one port, with M365.md §9's misbehaviour as configurable knobs::

    from mailflip.tenant.simulator import (AppConfig, Knobs, SimulatorConfig, SkuConfig,
                                           TenantConfig, create_app, serve)

    config = SimulatorConfig(
        tenants=(TenantConfig(tenant_id, "contoso.onmicrosoft.com",
                              skus=(SkuConfig("O365_BUSINESS_PREMIUM", sku_id, 25),),
                              apps=(AppConfig(client_id, secret,
                                              graph_permissions=("Directory.ReadWrite.All",),
                                              exchange_permissions=("Exchange.ManageAsApp",)),)),),
        knobs=Knobs(page_size=5), resolver=my_txt_lookup, clock=time.time)
    app = create_app(config)        # FastAPI; httpx.ASGITransport(app) in tests
    serve(config, "127.0.0.1", 8365)  # uvicorn, for a CLI

Every Graph request passes `check_request` and every InvokeCommand body
`check_invoke_command` first (400 naming the part at fault); what is listed in
Microsoft's descriptions but not emulated here answers 501 `NotEmulated`.
"""

from mailflip.tenant.simulator.app import create_app, serve
from mailflip.tenant.simulator.config import (
    EXCHANGE_SCOPE,
    GRAPH_SCOPE,
    QUIET,
    AppConfig,
    Clock,
    Knobs,
    ManualClock,
    MxStyle,
    Resolver,
    SimulatorConfig,
    SkuConfig,
    TenantConfig,
    no_dns,
)
from mailflip.tenant.simulator.model import EXCHANGE_APP_ID, GRAPH_APP_ID, SimulatedTenant

__all__ = ["EXCHANGE_APP_ID", "EXCHANGE_SCOPE", "GRAPH_APP_ID", "GRAPH_SCOPE", "QUIET",
           "AppConfig", "Clock", "Knobs", "ManualClock", "MxStyle", "Resolver", "SimulatedTenant",
           "SimulatorConfig", "SkuConfig", "TenantConfig", "create_app", "no_dns", "serve"]
