"""Graph v1.0 conformance (mailflip.tenant.conformance): the requests of M365.md's operation
map pass; wrong ones are refused with the segment, query option or property at fault."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mailflip.errors import ConformanceSpecMissing, GraphNonConformant, MailflipError
from mailflip.tenant.conformance import (
    allowed_methods,
    check_request,
    default_spec_dir,
    graph_model,
)
from mailflip.tenant.conformance.paths import Call, resolve, split_url

SKU = "6fd2c87f-b296-42f0-b197-1e91e994b900"
GUID = "00000000-0000-0000-0000-000000000001"
V1 = "https://graph.microsoft.com/v1.0"
NEW_USER = {"accountEnabled": True, "displayName": "Ann Lee", "mailNickname": "ann",
            "userPrincipalName": "ann@contoso.com", "usageLocation": "DE",
            "passwordProfile": {"password": "S3cret!x", "forceChangePasswordNextSignIn": True}}
ASSIGN = {"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []}


def refused(method: str, url: str, body: object = None) -> GraphNonConformant:
    with pytest.raises(GraphNonConformant) as caught:
        check_request(method, url, body)
    return caught.value


def allowed_methods_of(path: str) -> tuple[str, ...]:
    call = Call(path)
    return allowed_methods(resolve(graph_model(), call, split_url(call, path, in_batch=False)[0]))


ADAPTER_REQUESTS = [
    ("GET", "/organization", None),
    ("GET", "/organization?$select=id,verifiedDomains", None),
    ("POST", "/applications", {"displayName": "MigrationApp", "signInAudience": "AzureADMyOrg"}),
    ("POST", "/applications/{id}/addPassword", {"passwordCredential": {"displayName": "mf"}}),
    ("DELETE", "/applications/{id}", None),
    ("POST", "/servicePrincipals", {"appId": GUID}),
    ("GET", "/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'", None),
    ("POST", "/servicePrincipals/{id}/appRoleAssignedTo",
     {"principalId": GUID, "resourceId": GUID, "appRoleId": GUID}),
    ("GET", "/domains?$select=id,isVerified,isDefault,isInitial,supportedServices", None),
    ("POST", "/domains", {"id": "contoso.com"}),
    ("GET", "/domains/contoso.com/verificationDnsRecords", None),
    ("POST", "/domains/contoso.com/verify", None),
    ("PATCH", "/domains/contoso.com", {"supportedServices": ["Email"]}),
    ("GET", "/domains/contoso.com/serviceConfigurationRecords", None),
    ("GET", "/subscribedSkus", None),
    ("POST", "/users", NEW_USER),
    ("GET", "/users", None),
    ("GET", "/users/{id}", None),
    ("PATCH", "/users/{id}", {"userPrincipalName": "ann@fabrikam.com", "mail": "ann@fabrikam.com"}),
    ("POST", "/users/{id}/assignLicense", ASSIGN),
    ("GET", "/users/{id}/mailboxSettings", None),
    ("PATCH", "/users/{id}/mailboxSettings",
     {"timeZone": "UTC", "automaticRepliesSetting": {"status": "alwaysEnabled"}}),
    ("GET", "/users/{id}/mailFolders/inbox", None),
    ("GET", "/me", None),
    ("POST", "/groups/{id}/members/$ref", {"@odata.id": f"{V1}/directoryObjects/{GUID}"}),
    ("DELETE", "/groups/{id}/members/{member}/$ref", None),
    ("GET", "/groups/{id}/members/microsoft.graph.user", None),
    ("GET", "/roleManagement/directory/roleAssignments", None),
    ("POST", "/roleManagement/directory/roleAssignments",
     {"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": GUID,
      "roleDefinitionId": GUID, "directoryScopeId": "/"}),
    ("DELETE", "/directory/deletedItems/{id}", None),
    ("POST", "/$batch", {"requests": [{"id": "1", "method": "GET", "url": "/users/{id}"}]}),
]


@pytest.mark.parametrize(("method", "url", "body"), ADAPTER_REQUESTS,
                         ids=[f"{m} {u}" for m, u, _ in ADAPTER_REQUESTS])
def test_requests_of_the_operation_map_conform(method: str, url: str, body: object) -> None:
    assert check_request(method, url, body) is None


def test_assign_license_is_a_bound_action_of_user() -> None:
    (action,) = graph_model().bound("microsoft.graph.user", False, "assignLicense")
    assert action.action and action.qualified == "microsoft.graph.assignLicense"
    assert [(p.name, p.required) for p in action.parameters] == [
        ("addLicenses", True), ("removeLicenses", True)]
    assert check_request("POST", "/users/{id}/microsoft.graph.assignLicense", ASSIGN) is None


def test_missing_required_action_parameter_is_named() -> None:
    error = refused("POST", "/users/{id}/assignLicense", {"addLicenses": []})
    assert error.part == "removeLicenses"
    assert "assignLicense needs parameter 'removeLicenses'" in str(error)


def test_unknown_action_parameter_is_named() -> None:
    error = refused("POST", "/users/{id}/assignLicense", {**ASSIGN, "licenses": []})
    assert error.part == "licenses"
    assert "not a parameter of action microsoft.graph.assignLicense" in str(error)


def test_optional_action_parameter_may_be_left_out() -> None:
    assert check_request("POST", "/applications/{id}/addPassword", {}) is None


def test_action_parameter_values_are_typed() -> None:
    error = refused("POST", "/users/{id}/assignLicense",
                    {"addLicenses": [{"skuId": "ENTERPRISEPACK"}], "removeLicenses": []})
    assert error.part == "addLicenses[0].skuId"
    assert "expects Edm.Guid" in str(error)


def test_unknown_body_property_is_named() -> None:
    error = refused("POST", "/users", {**NEW_USER, "mailNickName": "ann"})
    assert error.part == "mailNickName"
    assert "not a property of microsoft.graph.user" in str(error)
    assert "did you mean 'mailNickname'" in str(error)


def test_nested_complex_body_property_is_named() -> None:
    error = refused("POST", "/users", {"passwordProfile": {"pasword": "x"}})
    assert error.part == "passwordProfile.pasword"
    assert "microsoft.graph.passwordProfile" in str(error)


def test_property_inherited_through_base_types_is_accepted() -> None:
    # `id` is declared on microsoft.graph.entity, deletedDateTime on directoryObject
    assert check_request("POST", "/domains", {"id": "fabrikam.com"}) is None
    assert check_request("GET", "/users?$select=id,deletedDateTime,displayName") is None


def test_body_value_of_the_wrong_json_type_is_named() -> None:
    error = refused("POST", "/users", {**NEW_USER, "accountEnabled": "true"})
    assert error.part == "accountEnabled"
    assert "expects Edm.Boolean, got a string" in str(error)


def test_enum_value_must_be_a_member() -> None:
    error = refused("PATCH", "/users/{id}/mailboxSettings",
                    {"automaticRepliesSetting": {"status": "enabled"}})
    assert error.part == "automaticRepliesSetting.status"
    assert "not a member of microsoft.graph.automaticRepliesStatus" in str(error)


def test_non_nullable_property_cannot_be_null() -> None:
    error = refused("PATCH", "/domains/contoso.com", {"supportedServices": None})
    assert error.part == "supportedServices"
    assert "cannot be null" in str(error)


def test_computed_property_cannot_be_written() -> None:
    error = refused("PATCH", "/solutions/bookingBusinesses/{id}", {"isPublished": True})
    assert error.part == "isPublished"
    assert "computed by the service" in str(error)


def test_directory_extension_attributes_are_allowed_on_open_types_only() -> None:
    ext = "extension_0123456789abcdef0123456789abcdef_costCenter"
    assert check_request("PATCH", "/users/{id}", {ext: "42"}) is None
    assert refused("PATCH", "/users/{id}", {"costCenter": "42"}).part == "costCenter"
    assert refused("PATCH", "/domains/contoso.com", {ext: "42"}).part == ext


def test_odata_bind_binds_navigation_properties() -> None:
    group = {"displayName": "Sales", "mailEnabled": False, "mailNickname": "sales",
             "securityEnabled": True, "members@odata.bind": [f"{V1}/users/{GUID}"]}
    assert check_request("POST", "/groups", group) is None
    error = refused("POST", "/groups", {**group, "displayName@odata.bind": "x"})
    assert error.part == "displayName@odata.bind"
    assert "is structural" in str(error)
    error = refused("POST", "/groups", {"membres@odata.bind": []})
    assert error.part == "membres@odata.bind" and "did you mean 'members'" in str(error)


def test_odata_bind_urls_must_address_entities() -> None:
    error = refused("POST", "/groups", {"owners@odata.bind": [f"{V1}/userz/{GUID}"]})
    assert error.part == "owners@odata.bind[0]"
    assert "'userz'" in str(error)


def test_odata_type_must_derive_from_the_target_type() -> None:
    error = refused("POST", "/roleManagement/directory/roleAssignments",
                    {"@odata.type": "#microsoft.graph.user"})
    assert error.part == "@odata.type"
    assert "microsoft.graph.unifiedRoleAssignment" in str(error)


def test_unknown_path_segment_is_named() -> None:
    error = refused("GET", "/users/{id}/mailboxSetting")
    assert error.part == "mailboxSetting"
    assert "of microsoft.graph.user" in str(error) and "'mailboxSettings'" in str(error)


def test_unknown_entity_set_is_named() -> None:
    error = refused("GET", "/usres")
    assert error.part == "usres"
    assert "not an entity set or singleton" in str(error)


def test_misspelt_bound_action_is_named() -> None:
    error = refused("POST", "/domains/contoso.com/verifiy")
    assert error.part == "verifiy" and "did you mean 'verify'" in str(error)


def test_beta_endpoint_is_refused() -> None:
    for url in ("https://graph.microsoft.com/beta/users/{id}/mailFolders/{f}/importMime",
                "/beta/users"):
        error = refused("POST", url, "TUlNRQ==")
        assert error.part == "beta"
        assert "v1.0 only" in str(error)


def test_absolute_urls_on_any_host_are_accepted() -> None:
    for root in (V1, "https://graph.microsoft.us/v1.0",
                 "https://microsoftgraph.chinacloudapi.cn/v1.0", "http://127.0.0.1:8443/v1.0"):
        assert check_request("GET", f"{root}/users/{GUID}?$select=id") is None


def test_absolute_url_needs_the_version() -> None:
    error = refused("GET", "https://graph.microsoft.com/users")
    assert error.part == "users" and "/v1.0/" in str(error)


def test_key_in_parentheses_is_the_same_as_a_key_segment() -> None:
    assert check_request("GET", "/users('ann@contoso.com')/memberOf") is None
    assert check_request("POST", "/users('ann@contoso.com')/assignLicense", ASSIGN) is None
    assert check_request("GET", f"/groups({GUID})/members('x')") is None
    assert check_request("GET", "/groups/{id}/members/microsoft.graph.user('x')") is None
    assert refused("GET", "/users/{id}/manager('x')").part == "manager('x')"


def test_type_cast_must_derive_from_the_collection_type() -> None:
    error = refused("GET", "/groups/{id}/members/microsoft.graph.domain")
    assert error.part == "microsoft.graph.domain"
    assert "does not derive from microsoft.graph.directoryObject" in str(error)
    assert refused("GET", "/groups/{id}/members/microsoft.graph.usr").part == \
        "microsoft.graph.usr"


def test_select_names_are_properties_of_the_resolved_type() -> None:
    error = refused("GET", "/users?$select=id,displayNam")
    assert error.part == "displayNam"
    assert "not a property of microsoft.graph.user" in str(error)
    error = refused("GET", "/domains/contoso.com?$select=isVerifed")
    assert error.part == "isVerifed" and "did you mean 'isVerified'" in str(error)


def test_select_after_a_cast_uses_the_cast_type() -> None:
    url = "/groups/{id}/members/microsoft.graph.user?$select=userPrincipalName,usageLocation"
    assert check_request("GET", url) is None
    error = refused("GET", "/groups/{id}/members/microsoft.graph.user?$select=isVerified")
    assert error.part == "isVerified" and "microsoft.graph.user" in str(error)


def test_select_on_a_base_type_collection_accepts_derived_properties() -> None:
    # Graph answers members?$select=displayName: members are directoryObjects
    assert check_request("GET", "/groups/{id}/members?$select=id,displayName,mail") is None
    # M365.md reads recordType, text (a domainDnsTxtRecord's) and ttl of domainDnsRecords
    url = "/domains/contoso.com/verificationDnsRecords?$select=recordType,text,ttl"
    assert check_request("GET", url) is None
    assert refused("GET", "/groups/{id}/members?$select=colour").part == "colour"


def test_expand_names_navigation_properties_with_nested_options() -> None:
    assert check_request("GET", "/users?$expand=manager($select=id,displayName)") is None
    assert check_request("GET", "/groups/{id}?$expand=members($select=id;$top=5)") is None
    error = refused("GET", "/users?$expand=displayName")
    assert error.part == "displayName" and "not a navigation property" in str(error)
    error = refused("GET", "/users?$expand=manager($select=nickname)")
    assert error.part == "nickname"


def test_query_option_values_are_checked() -> None:
    assert refused("GET", "/users?$top=ten").part == "$top"
    assert refused("GET", "/users?$count=yes").part == "$count"
    assert refused("GET", "/users?$orderby=displayName sideways").part == \
        "displayName sideways"
    assert check_request("GET", "/users?$orderby=displayName desc&$top=10&$count=true") is None


def test_collection_options_on_one_entity_are_refused() -> None:
    error = refused("GET", "/users/{id}?$top=1")
    assert error.part == "$top" and "applies to collections" in str(error)


def test_unknown_system_query_option_is_refused() -> None:
    error = refused("GET", "/users?$selct=id")
    assert error.part == "$selct" and "did you mean '$select'" in str(error)
    assert refused("GET", "/users?select=id").part == "select"
    assert refused("GET", "/users?$top=1&$top=2").part == "$top"


def test_actions_are_post_and_functions_are_get() -> None:
    error = refused("GET", "/users/{id}/assignLicense")
    assert error.part == "GET" and "actions are called with POST" in str(error)
    error = refused("POST", "/users/delta()")
    assert error.part == "POST" and "functions are called with GET" in str(error)
    assert check_request("GET", "/users/delta()") is None
    assert check_request("GET", "/users/delta") is None


def test_function_parameters_are_checked() -> None:
    assert check_request("GET", "/reports/getEmailActivityUserDetail(period='D7')") is None
    error = refused("GET", "/reports/getEmailActivityUserDetail()")
    assert error.part == "getEmailActivityUserDetail()" and "'period'" in str(error)
    assert refused("GET", "/users/delta(since='x')").part == "since"


def test_action_parameters_go_in_the_body() -> None:
    error = refused("POST", "/domains/contoso.com/verify()")
    assert error.part == "verify()" and "in the body" in str(error)


def test_delete_is_for_entities_not_collections() -> None:
    assert check_request("DELETE", "/users/{id}") is None
    error = refused("DELETE", "/users")
    assert error.part == "DELETE" and "a collection of microsoft.graph.user" in str(error)
    assert refused("DELETE", "/me").part == "DELETE"


def test_members_are_added_through_ref_not_posted() -> None:
    error = refused("POST", "/groups/{id}/members", {"@odata.id": f"{V1}/users/{GUID}"})
    assert error.part == "POST" and ".../$ref" in str(error)
    assert allowed_methods_of("/groups/{id}/members/{m}/$ref") == ("DELETE",)
    assert allowed_methods_of("/groups/{id}/members/$ref") == ("GET", "POST")


def test_ref_body_is_exactly_an_odata_id_of_a_compatible_entity() -> None:
    extra = refused("POST", "/groups/{id}/members/$ref",
                    {"@odata.id": f"{V1}/users/{GUID}", "id": GUID})
    assert extra.part == "id" and "@odata.id" in str(extra)
    wrong = refused("POST", "/groups/{id}/members/$ref", {"@odata.id": f"{V1}/domains/x.com"})
    assert wrong.part == "@odata.id" and "microsoft.graph.domain" in str(wrong)


def test_ref_follows_a_navigation_property() -> None:
    error = refused("GET", "/users/{id}/$ref")
    assert error.part == "$ref" and "navigation property" in str(error)


def test_get_takes_no_body_and_writes_need_one() -> None:
    assert refused("GET", "/users", {"x": 1}).part == "body"
    error = refused("PATCH", "/users/{id}")
    assert error.part == "body" and "microsoft.graph.user" in str(error)


def test_raw_bodies_are_not_inspected_as_json() -> None:
    # M365.md §5: a MIME message posted as base64 text; a photo as bytes
    mime = "RnJvbTogYUBleGFtcGxlLmNvbQ0KDQpoaQ=="
    assert check_request("POST", "/users/{id}/mailFolders/inbox/messages", mime) is None
    assert check_request("PUT", "/users/{id}/photo/$value", b"\x89PNG") is None


def test_batch_inner_requests_are_checked_recursively() -> None:
    batch = {"requests": [
        {"id": "1", "method": "GET", "url": "/users/{id}?$select=id"},
        {"id": "2", "method": "POST", "url": "users/{id}/assignLicense", "dependsOn": ["1"],
         "headers": {"Content-Type": "application/json"}, "body": {"addLicenses": []}}]}
    error = refused("POST", "/$batch", batch)
    assert error.part == "removeLicenses"
    assert str(error).startswith("$batch requests[1] (id '2'): POST users/{id}/assignLicense")


def test_batch_inner_urls_are_relative() -> None:
    batch = {"requests": [{"id": "1", "method": "GET", "url": f"{V1}/users"}]}
    error = refused("POST", "/$batch", batch)
    assert error.part == f"{V1}/users" and "relative" in str(error)


def test_batch_shape_is_checked() -> None:
    one = {"id": "1", "method": "GET", "url": "/me"}
    too_many = {"requests": [{**one, "id": str(i)} for i in range(21)]}
    assert refused("POST", "/$batch", too_many).part == "requests"
    assert refused("POST", "/$batch", {"requests": [one, one]}).part == "requests[0].id"
    depends = {"requests": [{**one, "dependsOn": ["9"]}]}
    assert refused("POST", "/$batch", depends).part == "requests[0].dependsOn"
    no_type = {"requests": [{"id": "1", "method": "PATCH", "url": "/me", "body": {}}]}
    assert refused("POST", "/$batch", no_type).part == "requests[0].headers"
    nested = {"requests": [{"id": "1", "method": "POST", "url": "/$batch"}]}
    assert refused("POST", "/$batch", nested).part == "$batch"
    assert refused("POST", "/$batch", {"requests": [{**one, "atomicityGroup": "g"}]}).part \
        == "requests[0].atomicityGroup"


def test_metadata_is_parsed_once_per_process() -> None:
    assert graph_model() is graph_model()


def test_missing_spec_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConformanceSpecMissing) as caught:
        check_request("GET", "/users", spec_dir=tmp_path)
    assert str(tmp_path / "v1.0-cleanMetadata.xml") in str(caught.value)


def test_refusals_are_mailflip_errors_with_the_part() -> None:
    error = refused("GET", "/usres")
    assert isinstance(error, MailflipError)
    assert (error.call, error.part) == ("GET /usres", "usres")


REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "graph"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the reference data is not beside the repo")
def test_the_shipped_descriptions_are_the_reference_data() -> None:
    shipped = default_spec_dir()
    with gzip.open(shipped / "v1.0-cleanMetadata.xml.gz") as f:
        assert f.read() == (REFERENCE / "v1.0-cleanMetadata.xml").read_bytes()
    assert (shipped / "exo-cmdlets.md").read_bytes() == \
        (REFERENCE / "exo-cmdlets.md").read_bytes()


def test_an_uncompressed_description_is_read_as_well(tmp_path: Path) -> None:
    with gzip.open(default_spec_dir() / "v1.0-cleanMetadata.xml.gz") as f:
        (tmp_path / "v1.0-cleanMetadata.xml").write_bytes(f.read())
    check_request("GET", "/subscribedSkus", spec_dir=tmp_path)
    with pytest.raises(GraphNonConformant):
        check_request("GET", "/subscribedSku", spec_dir=tmp_path)
