"""The local Microsoft 365's refusals and misbehaviour: conformance, permissions,
throttling (alone and inside $batch), paging, lost responses, app-only identities."""

from __future__ import annotations

from mailflip.tenant.simulator import GRAPH_APP_ID, GRAPH_SCOPE, ManualClock
from tests.adapters.m365_world import INITIAL, config, knobs, m365


async def test_non_conformant_request_is_refused_naming_the_part() -> None:
    async with m365() as sim:
        reply = await sim.graph("POST", "/users", {"displayName": "Ann", "favouriteColour": 1})
        assert reply.status_code == 400
        error = reply.json()["error"]
        assert error["code"] == "BadRequest"
        assert "favouriteColour" in error["message"]
        assert error["details"] == [{"code": "NonConformant", "target": "favouriteColour"}]
        unknown = await sim.graph("GET", "/userz")
        assert unknown.status_code == 400 and "userz" in unknown.json()["error"]["message"]


async def test_conformant_but_not_emulated_operation_is_an_explicit_501() -> None:
    async with m365() as sim:
        reply = await sim.graph("GET", "/groups")
        assert reply.status_code == 501
        assert reply.json()["error"]["code"] == "NotEmulated"


async def test_missing_permission_is_403_naming_the_permission() -> None:
    async with m365(config(graph=("Organization.Read.All",))) as sim:
        reply = await sim.new_user("ann")
        assert reply.status_code == 403
        error = reply.json()["error"]
        assert error["code"] == "Authorization_RequestDenied"
        assert "User.ReadWrite.All" in error["message"]
        assert (await sim.graph("GET", "/organization")).status_code == 200


async def test_every_nth_request_is_429_with_retry_after() -> None:
    async with m365(config(knobs(throttle_every=3, retry_after_s=7))) as sim:
        statuses = [(await sim.graph("GET", "/domains")) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert statuses[2].headers["Retry-After"] == "7"
        assert statuses[2].json()["error"]["code"] == "TooManyRequests"


async def test_token_bucket_throttles_by_path_cost_and_refills_on_the_clock() -> None:
    clock = ManualClock()
    cfg = config(knobs(bucket_capacity=5, bucket_refill_per_s=1), clock=clock)
    async with m365(cfg) as sim:
        # GET /users costs 2 units, GET /subscribedSkus 3: 2 + 3 empties a bucket of 5
        assert (await sim.graph("GET", "/users")).status_code == 200
        assert (await sim.graph("GET", "/subscribedSkus")).status_code == 200
        throttled = await sim.graph("GET", "/users")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
        clock.advance(2)
        assert (await sim.graph("GET", "/users")).status_code == 200


async def test_retry_after_is_sometimes_missing_when_configured() -> None:
    async with m365(config(knobs(throttle_every=1, retry_after_missing_every=2))) as sim:
        first, second = [await sim.graph("GET", "/domains") for _ in range(2)]
        assert first.status_code == second.status_code == 429
        assert "Retry-After" in first.headers and "Retry-After" not in second.headers


async def test_batch_runs_each_item_through_graph_with_its_own_429() -> None:
    async with m365(config(knobs(throttle_every=2))) as sim:
        requests = [{"id": str(i), "method": "GET", "url": "/domains"} for i in range(1, 5)]
        reply = await sim.graph("POST", "/$batch", {"requests": requests})
        assert reply.status_code == 200
        statuses = {r["id"]: r["status"] for r in reply.json()["responses"]}
        assert statuses == {"1": 200, "2": 429, "3": 200, "4": 429}
        throttled = next(r for r in reply.json()["responses"] if r["id"] == "2")
        assert throttled["headers"]["Retry-After"] == "10"
        assert throttled["body"]["error"]["code"] == "TooManyRequests"


async def test_batch_item_refusals_and_dependencies_are_per_item() -> None:
    async with m365() as sim:
        reply = await sim.graph("POST", "/$batch", {"requests": [
            {"id": "a", "method": "GET", "url": "/users/nobody@contoso.onmicrosoft.com"},
            {"id": "b", "method": "GET", "url": "/organization", "dependsOn": ["a"]},
            {"id": "c", "method": "GET", "url": "/subscribedSkus"}]})
        statuses = {r["id"]: r["status"] for r in reply.json()["responses"]}
        assert statuses == {"a": 404, "b": 424, "c": 200}


async def test_batch_over_twenty_requests_is_refused() -> None:
    async with m365() as sim:
        requests = [{"id": str(i), "method": "GET", "url": "/domains"} for i in range(21)]
        reply = await sim.graph("POST", "/$batch", {"requests": requests})
        assert reply.status_code == 400
        assert reply.json()["error"]["details"][0]["target"] == "requests"


async def test_users_are_paged_with_next_link_and_top() -> None:
    async with m365(config(knobs(page_size=2))) as sim:
        for name in ("ann", "bob", "cid", "dee", "eve"):
            await sim.new_user(name)
        seen: list[str] = []
        url = "/users?$select=id,userPrincipalName"
        pages = 0
        while url:
            page = (await sim.graph("GET", url)).json()
            pages += 1
            assert all(set(u) == {"id", "userPrincipalName"} for u in page["value"])
            seen += [u["userPrincipalName"] for u in page["value"]]
            url = page.get("@odata.nextLink", "")
        assert pages == 3
        assert sorted(seen) == sorted(f"{n}@{INITIAL}" for n in ("ann", "bob", "cid", "dee",
                                                                  "eve"))
        top = (await sim.graph("GET", "/users?$top=4")).json()
        assert len(top["value"]) == 4 and "$top=4" in top["@odata.nextLink"]


async def test_lost_create_is_committed_so_the_retry_meets_object_conflict() -> None:
    async with m365(config(knobs(lose_create_every=1))) as sim:
        lost = await sim.new_user("ann")
        assert lost.status_code == 504
        retry = await sim.new_user("ann")
        assert retry.status_code == 400
        assert retry.json()["error"]["details"][0]["code"] == "ObjectConflict"
        found = await sim.graph("GET", f"/users/ann@{INITIAL}")
        assert found.status_code == 200


async def test_created_app_signs_in_with_its_secret_and_carries_granted_roles() -> None:
    async with m365() as sim:
        app = (await sim.graph("POST", "/applications", {"displayName": "MigrationApp"})).json()
        secret = (await sim.graph("POST", f"/applications/{app['id']}/addPassword",
                                  {"passwordCredential": {"displayName": "mf"}})).json()
        sp = (await sim.graph("POST", "/servicePrincipals", {"appId": app["appId"]})).json()
        graph_sp = (await sim.graph(
            "GET", f"/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'")).json()["value"][0]
        role = next(r["id"] for r in graph_sp["appRoles"] if r["value"] == "User.Read.All")
        granted = await sim.graph("POST", f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo",
                                  {"principalId": sp["id"], "resourceId": graph_sp["id"],
                                   "appRoleId": role})
        assert granted.status_code == 201

        token = await sim.http.post(f"/{INITIAL}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": app["appId"],
            "client_secret": secret["secretText"], "scope": GRAPH_SCOPE})
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert (await sim.http.get("/v1.0/users", headers=headers)).status_code == 200
        write = await sim.http.post("/v1.0/domains", json={"id": "x.com"}, headers=headers)
        assert write.status_code == 403

        # teardown: soft delete, then purge; the token issued before keeps working
        assert (await sim.graph("DELETE", f"/applications/{app['id']}")).status_code == 204
        assert (await sim.graph("DELETE", f"/directory/deletedItems/{app['id']}")
                ).status_code == 204
        assert (await sim.graph("DELETE", f"/directory/deletedItems/{app['id']}")
                ).status_code == 404
        assert (await sim.http.get("/v1.0/users", headers=headers)).status_code == 200


async def test_oversized_graph_body_is_413() -> None:
    async with m365(config(knobs(max_body_bytes=100))) as sim:
        reply = await sim.graph("POST", "/applications", {"displayName": "x" * 200})
        assert reply.status_code == 413


async def test_granted_role_reaches_only_tokens_issued_after_the_grant_delay() -> None:
    clock = ManualClock()
    async with m365(config(knobs(grant_delay_s=60), clock=clock)) as sim:
        app = (await sim.graph("POST", "/applications", {"displayName": "MigrationApp"})).json()
        secret = (await sim.graph("POST", f"/applications/{app['id']}/addPassword",
                                  {"passwordCredential": {"displayName": "mf"}})).json()
        sp = (await sim.graph("POST", "/servicePrincipals", {"appId": app["appId"]})).json()
        graph_sp = (await sim.graph(
            "GET", f"/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'")).json()["value"][0]
        role = next(r["id"] for r in graph_sp["appRoles"] if r["value"] == "User.Read.All")
        await sim.graph("POST", f"/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo",
                        {"principalId": sp["id"], "resourceId": graph_sp["id"],
                         "appRoleId": role})

        async def users_status() -> int:
            token = (await sim.http.post(f"/{INITIAL}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": app["appId"],
                "client_secret": secret["secretText"], "scope": GRAPH_SCOPE})).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            return (await sim.http.get("/v1.0/users", headers=headers)).status_code

        assert await users_status() == 403
        clock.advance(60)
        assert await users_status() == 200


async def test_service_unavailable_every_nth_request_carries_retry_after() -> None:
    async with m365(config(knobs(unavailable_every=2))) as sim:
        first, second = [await sim.graph("GET", "/domains") for _ in range(2)]
        assert (first.status_code, second.status_code) == (200, 503)
        assert second.headers["Retry-After"] == "1"
