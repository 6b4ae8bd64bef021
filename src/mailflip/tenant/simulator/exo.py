"""Exchange Online's InvokeCommand endpoint (M365.md §2): conformance to exo-cmdlets.md,
an Exchange token with Exchange.ManageAsApp, throttling, then the cmdlet. A cmdlet (or a
parameter) that is listed but not emulated here is refused with 501 `NotEmulated`."""

from __future__ import annotations

from typing import Any

from mailflip.errors import CmdletNonConformant
from mailflip.tenant.conformance import check_invoke_command
from mailflip.tenant.simulator import exo_config, exo_recipients
from mailflip.tenant.simulator.auth import Tokens
from mailflip.tenant.simulator.config import SimulatorConfig
from mailflip.tenant.simulator.exo_call import CmdletCall, Handler
from mailflip.tenant.simulator.model import EXCHANGE_APP_ID, SimulatedTenant
from mailflip.tenant.simulator.replies import ExoError, Reply, exo_not_emulated
from mailflip.tenant.simulator.throttle import Throttle

CMDLETS: dict[str, tuple[Handler, frozenset[str] | None]] = {
    **exo_recipients.CMDLETS, **exo_config.CMDLETS}
MANAGE_AS_APP = "Exchange.ManageAsApp"


class ExoService:
    def __init__(self, config: SimulatorConfig, tenants: tuple[SimulatedTenant, ...],
                 tokens: Tokens) -> None:
        self._config = config
        self._tenants = tenants
        self._tokens = tokens
        self._throttle = Throttle(config.knobs, config.clock)

    def invoke(self, tenant_name: str, body: Any, authorization: str | None,
               base: str) -> Reply:
        try:
            return self._invoke(tenant_name, body, authorization, base)
        except ExoError as error:
            return error.reply()

    def _invoke(self, tenant_name: str, body: Any, authorization: str | None,
                base: str) -> Reply:
        try:
            check_invoke_command(body)
        except CmdletNonConformant as error:
            raise ExoError(400, "System.Management.Automation.ParameterBindingException",
                           f"{error.reason} (at {error.part!r})") from error
        grant = self._tokens.grant(authorization, EXCHANGE_APP_ID)
        tenant = self._tokens.tenant(tenant_name)
        if grant is None or tenant is None or tenant.tenant_id != grant.tenant_id:
            raise ExoError(401, "UnauthorizedAccessException",
                           "The token is missing, expired, not for Exchange Online or not "
                           f"for the organization '{tenant_name}'.")
        if MANAGE_AS_APP not in grant.roles:
            raise ExoError(403, "UnauthorizedAccessException",
                           f"The application has no {MANAGE_AS_APP} permission of Office 365 "
                           "Exchange Online.")
        wait = self._throttle.admit(f"exo/{grant.tenant_id}/{grant.client_id}", 1)
        if wait is not None:
            raise ExoError(429, "Microsoft.Exchange.Net.TooManyRequestsException",
                           "The request was throttled: the application is over its budget. "
                           "Retry after the time given.", headers=wait)
        name = body["CmdletInput"]["CmdletName"]
        entry = CMDLETS.get(name.lower())
        if entry is None:
            raise exo_not_emulated(f"the cmdlet {name}")
        handler, understood = entry
        call = CmdletCall.of(name, body["CmdletInput"].get("Parameters", {}), tenant,
                             self._config.clock(), self._config.knobs)
        if understood is not None:
            for parameter in call.parameters:
                if parameter not in understood:
                    raise exo_not_emulated(f"{name} -{parameter}")
        value = handler(call)
        return Reply(200, {"@odata.context": f"{base}/adminapi/beta/{tenant_name}/$metadata"
                                             "#Collection(Exchange.GenericHashTable)",
                           "value": value})
