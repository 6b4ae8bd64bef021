"""Exchange Online organization cmdlets: service principals and RBAC for Applications
(M365.md §0, §1 row 3), accepted domains, and transport rules / connectors, which are
stored and listed back but never act on mail."""

from __future__ import annotations

from typing import Any

from mailflip.tenant.simulator.exchange import ExoServicePrincipal, RoleAssignment, Stored
from mailflip.tenant.simulator.exo_call import (
    CmdletCall,
    Handler,
    accepted_domains,
    find_principal,
)
from mailflip.tenant.simulator.replies import ExoError, exo_invalid, exo_not_emulated, exo_not_found

Json = list[dict[str, Any]]


def new_service_principal(call: CmdletCall) -> Json:
    app_id, object_id = str(call.required("AppId")), str(call.required("ObjectId"))
    entra = call.tenant.sp_by_app_id(app_id)
    if entra is None or entra.id != object_id:
        raise exo_invalid(f"No service principal with AppId '{app_id}' and ObjectId "
                          f"'{object_id}' exists in Microsoft Entra ID for this tenant.")
    exchange = call.tenant.exchange
    if any(sp.app_id == app_id for sp in exchange.service_principals.values()):
        raise ExoError(400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                       f"A service principal with AppId '{app_id}' already exists.")
    sp = ExoServicePrincipal(app_id, object_id, str(call.get("DisplayName") or
                                                    entra.display_name))
    exchange.service_principals[sp.guid] = sp
    return [_sp_json(sp)]


def get_service_principal(call: CmdletCall) -> Json:
    if call.has("Identity"):
        return [_sp_json(_sp(call, call.get("Identity")))]
    return [_sp_json(sp) for sp in call.tenant.exchange.service_principals.values()]


def remove_service_principal(call: CmdletCall) -> Json:
    sp = _sp(call, call.required("Identity"))
    exchange = call.tenant.exchange
    del exchange.service_principals[sp.guid]
    # what hangs on the principal goes with it, as the directory drops dangling links
    exchange.permissions = [p for p in exchange.permissions if p.trustee != sp.guid]
    exchange.role_assignments = {k: a for k, a in exchange.role_assignments.items()
                                 if a.app != sp.guid}
    return []


def new_role_assignment(call: CmdletCall) -> Json:
    if not call.has("App"):
        raise exo_not_emulated("New-ManagementRoleAssignment without -App (only RBAC for "
                               "Applications is)")
    sp = _sp(call, call.get("App"))
    role = str(call.required("Role"))
    if not role.startswith("Application "):
        raise exo_invalid(f"The role '{role}' cannot be assigned to a service principal: "
                          "use an application role such as 'Application Mail.ReadWrite'.")
    scope = call.get("CustomResourceScope")
    name = str(call.get("Name") or f"{role}-{sp.display_name}")
    exchange = call.tenant.exchange
    if any(a.name.lower() == name.lower() for a in exchange.role_assignments.values()):
        raise ExoError(400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                       f"The role assignment '{name}' already exists.")
    assignment = RoleAssignment(name, role, sp.guid, str(scope) if scope else None)
    exchange.role_assignments[assignment.guid] = assignment
    return [_assignment_json(call, assignment)]


def get_role_assignments(call: CmdletCall) -> Json:
    items = list(call.tenant.exchange.role_assignments.values())
    if call.has("Identity"):
        items = [_assignment(call, call.get("Identity"))]
    if call.has("RoleAssignee"):
        app = _sp(call, call.get("RoleAssignee")).guid
        items = [a for a in items if a.app == app]
    if call.has("Role"):
        items = [a for a in items if a.role.lower() == str(call.get("Role")).lower()]
    return [_assignment_json(call, a) for a in items]


def remove_role_assignment(call: CmdletCall) -> Json:
    assignment = _assignment(call, call.required("Identity"))
    del call.tenant.exchange.role_assignments[assignment.guid]
    return []


def get_accepted_domains(call: CmdletCall) -> Json:
    names = accepted_domains(call)
    if call.has("Identity"):
        wanted = str(call.get("Identity")).lower()
        if wanted not in names:
            raise exo_not_found(wanted)
        names = [wanted]
    initial = call.tenant.initial_domain
    return [{"Identity": n, "Name": n, "DomainName": n, "DomainType": "Authoritative",
             "Default": n == initial, "InitialDomain": n == initial} for n in names]


def new_stored(kind: str) -> Handler:
    def create(call: CmdletCall) -> Json:
        name = str(call.required("Name"))
        exchange = call.tenant.exchange
        if any(s.kind == kind and s.name.lower() == name.lower()
               for s in exchange.stored.values()):
            raise ExoError(400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                           f"A {kind} named '{name}' already exists.")
        stored = Stored(kind, name, dict(call.parameters))
        exchange.stored[stored.guid] = stored
        return [_stored_json(stored)]
    return create


def get_stored(kind: str) -> Handler:
    def listing(call: CmdletCall) -> Json:
        items = [s for s in call.tenant.exchange.stored.values() if s.kind == kind]
        if call.has("Identity"):
            wanted = str(call.get("Identity")).lower()
            items = [s for s in items if wanted in (s.name.lower(), s.guid)]
            if not items:
                raise exo_not_found(wanted)
        return [_stored_json(s) for s in items]
    return listing


def _sp(call: CmdletCall, identity: Any) -> ExoServicePrincipal:
    found = find_principal(call, identity)
    if not isinstance(found, ExoServicePrincipal):
        raise exo_not_found(str(identity))
    return found


def _assignment(call: CmdletCall, identity: Any) -> RoleAssignment:
    wanted = str(identity).lower()
    for assignment in call.tenant.exchange.role_assignments.values():
        if wanted in (assignment.name.lower(), assignment.guid):
            return assignment
    raise exo_not_found(str(identity))


def _sp_json(sp: ExoServicePrincipal) -> dict[str, Any]:
    return {"Identity": sp.object_id, "AppId": sp.app_id, "ObjectId": sp.object_id,
            "DisplayName": sp.display_name, "Guid": sp.guid}


def _assignment_json(call: CmdletCall, a: RoleAssignment) -> dict[str, Any]:
    sp = call.tenant.exchange.service_principals.get(a.app)
    return {"Identity": a.name, "Name": a.name, "Role": a.role, "Guid": a.guid,
            "App": sp.object_id if sp else a.app, "RoleAssigneeType": "ServicePrincipal",
            "CustomResourceScope": a.custom_resource_scope, "Enabled": True}


def _stored_json(s: Stored) -> dict[str, Any]:
    return {"Identity": s.name, "Name": s.name, "Guid": s.guid, **{
        k: v for k, v in s.parameters.items() if k != "name"}}


CMDLETS: dict[str, tuple[Handler, frozenset[str] | None]] = {
    "new-serviceprincipal": (new_service_principal,
                             frozenset({"appid", "objectid", "displayname"})),
    "get-serviceprincipal": (get_service_principal, frozenset({"identity"})),
    "remove-serviceprincipal": (remove_service_principal, frozenset({"identity"})),
    "new-managementroleassignment": (new_role_assignment,
                                     frozenset({"app", "role", "name",
                                                "customresourcescope"})),
    "get-managementroleassignment": (get_role_assignments,
                                     frozenset({"identity", "roleassignee", "role"})),
    "remove-managementroleassignment": (remove_role_assignment,
                                        frozenset({"identity", "force"})),
    "get-accepteddomain": (get_accepted_domains, frozenset({"identity", "resultsize"})),
    # every parameter of these is stored as given: None means "all are understood"
    "new-transportrule": (new_stored("TransportRule"), None),
    "get-transportrule": (get_stored("TransportRule"), frozenset({"identity", "resultsize"})),
    "new-inboundconnector": (new_stored("InboundConnector"), None),
    "get-inboundconnector": (get_stored("InboundConnector"),
                              frozenset({"identity", "resultsize"})),
    "new-outboundconnector": (new_stored("OutboundConnector"), None),
    "get-outboundconnector": (get_stored("OutboundConnector"),
                              frozenset({"identity", "resultsize"})),
}
