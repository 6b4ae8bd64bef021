"""Graph: app registrations, their secrets, service principals, app role grants, and the
30-day soft delete (`/directory/deletedItems`). An app created here can sign in at the
token endpoint with a secret from addPassword, carrying the roles granted to it."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from mailflip.tenant.simulator import odata
from mailflip.tenant.simulator.graph_call import READ_DIRECTORY, GraphCall, RouteTable
from mailflip.tenant.simulator.model import (
    Application,
    RoleGrant,
    ServicePrincipal,
    new_id,
)
from mailflip.tenant.simulator.replies import Reply, bad_request, conflict, not_found

routes = RouteTable()
READ = ("Application.Read.All", "Application.ReadWrite.All", *READ_DIRECTORY)
WRITE = ("Application.ReadWrite.All",)
GRANT = ("AppRoleAssignment.ReadWrite.All",)
SECRET_LIFETIME_S = 2 * 365 * 24 * 3600


def app_json(app: Application) -> dict[str, Any]:
    return {**app.body, "id": app.id, "appId": app.app_id, "displayName": app.display_name,
            "createdDateTime": odata.iso(app.created_at),
            "passwordCredentials": [{"keyId": k, "hint": s[:3]} for k, s in app.secrets.items()]}


def sp_json(sp: ServicePrincipal) -> dict[str, Any]:
    return {"id": sp.id, "appId": sp.app_id, "displayName": sp.display_name,
            "servicePrincipalType": "Application", "accountEnabled": True,
            "appRoles": [{"id": i, "value": v, "displayName": v, "isEnabled": True,
                          "allowedMemberTypes": ["Application"], "origin": "Application"}
                         for i, v in sp.app_roles.items()]}


@routes.add("GET", "/applications", READ)
async def list_applications(call: GraphCall) -> Reply:
    items = [app_json(a) for a in call.tenant.applications.values()]
    return odata.collection(call, items, "applications")


@routes.add("POST", "/applications", WRITE)
async def create_application(call: GraphCall) -> Reply:
    body = call.json_object()
    if not body.get("displayName"):
        raise bad_request("A value is required for property 'displayName' of resource "
                          "'Application'.")
    app = Application(new_id(), new_id(), str(body["displayName"]), call.now,
                      body={k: v for k, v in body.items() if k != "displayName"})
    call.tenant.applications[app.id] = app
    return odata.entity(call, app_json(app), "applications/$entity", status=201)


@routes.add("GET", "/applications/{id}", READ)
async def get_application(call: GraphCall) -> Reply:
    return odata.entity(call, app_json(_app(call)), "applications/$entity")


@routes.add("DELETE", "/applications/{id}", WRITE)
async def delete_application(call: GraphCall) -> Reply:
    app = _app(call)
    del call.tenant.applications[app.id]
    call.tenant.deleted[app.id] = app
    for sp in [s for s in call.tenant.service_principals.values() if s.app_id == app.app_id]:
        del call.tenant.service_principals[sp.id]
        # as in Entra: the principal's app role assignments go with it
        call.tenant.grants = {k: g for k, g in call.tenant.grants.items()
                              if sp.id not in (g.principal_id, g.resource_id)}
    return Reply(204)


@routes.add("POST", "/applications/{id}/addPassword", WRITE)
async def add_password(call: GraphCall) -> Reply:
    app = _app(call)
    credential = call.json_object().get("passwordCredential") or {}
    key_id, text = str(uuid.uuid4()), secrets.token_urlsafe(30)
    app.secrets[key_id] = text
    return odata.entity(call, {
        "keyId": key_id, "secretText": text, "hint": text[:3],
        "displayName": credential.get("displayName"), "customKeyIdentifier": None,
        "startDateTime": odata.iso(call.now),
        "endDateTime": odata.iso(call.now + SECRET_LIFETIME_S),
    }, "microsoft.graph.passwordCredential")


@routes.add("GET", "/servicePrincipals", READ)
async def list_service_principals(call: GraphCall) -> Reply:
    items = [sp_json(s) for s in call.tenant.service_principals.values()]
    return odata.collection(call, items, "servicePrincipals")


@routes.add("POST", "/servicePrincipals", WRITE)
async def create_service_principal(call: GraphCall) -> Reply:
    app_id = str(call.json_object().get("appId", ""))
    app = next((a for a in call.tenant.applications.values() if a.app_id == app_id), None)
    if app is None:
        raise bad_request(f"The appId '{app_id}' of the service principal does not reference "
                          "a valid application object.")
    if call.tenant.sp_by_app_id(app_id) is not None:
        raise conflict("servicePrincipalNames")
    sp = ServicePrincipal(new_id(), app_id, app.display_name)
    call.tenant.service_principals[sp.id] = sp
    return odata.entity(call, sp_json(sp), "servicePrincipals/$entity", status=201)


@routes.add("POST", "/servicePrincipals/{id}/appRoleAssignedTo", GRANT)
async def grant_app_role(call: GraphCall) -> Reply:
    resource = call.tenant.service_principals.get(call.params["id"])
    if resource is None:
        raise not_found(call.params["id"])
    body = call.json_object()
    principal_id, role = str(body.get("principalId", "")), str(body.get("appRoleId", ""))
    if body.get("resourceId") != resource.id:
        raise bad_request("resourceId must be the id of the service principal in the URL.")
    if principal_id not in call.tenant.service_principals:
        raise not_found(principal_id)
    if role not in resource.app_roles:
        raise bad_request(f"Permission being assigned was not found on application "
                          f"'{resource.app_id}'.")
    for grant in call.tenant.grants.values():
        if (grant.principal_id, grant.resource_id, grant.app_role_id) == (
                principal_id, resource.id, role):
            raise bad_request("Permission being assigned already exists on the object.")
    grant = RoleGrant(new_id(), principal_id, resource.id, role, call.now,
                      effective_at=call.now + call.knobs.grant_delay_s)
    call.tenant.grants[grant.id] = grant
    return odata.entity(call, {
        "id": grant.id, "principalId": principal_id, "principalType": "ServicePrincipal",
        "resourceId": resource.id, "resourceDisplayName": resource.display_name,
        "appRoleId": role, "createdDateTime": odata.iso(call.now)},
        f"servicePrincipals('{resource.id}')/appRoleAssignedTo/$entity", status=201)


@routes.add("DELETE", "/directory/deletedItems/{id}", WRITE)
async def purge_deleted(call: GraphCall) -> Reply:
    if call.tenant.deleted.pop(call.params["id"], None) is None:
        raise not_found(call.params["id"])
    return Reply(204)


def _app(call: GraphCall) -> Application:
    app = call.tenant.applications.get(call.params["id"])
    if app is None:
        raise not_found(call.params["id"])
    return app
