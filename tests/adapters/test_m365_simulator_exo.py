"""The local Microsoft 365's Exchange Online (InvokeCommand): recipients, permissions,
groups, RBAC for Applications, conformance refusals, and the licence -> mailbox delay."""

from __future__ import annotations

from typing import Any

from mailflip.tenant.simulator import ManualClock
from tests.adapters.m365_world import INITIAL, Dns, Sim, config, knobs, m365


async def values(sim: Sim, cmdlet: str, **parameters: Any) -> list[dict[str, Any]]:
    reply = await sim.cmdlet(cmdlet, **parameters)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["value"])


async def test_shared_mailbox_gets_full_access_and_send_as_once() -> None:
    async with m365() as sim:
        created = await values(sim, "New-Mailbox", Shared=True, Name="Sales",
                               PrimarySmtpAddress=f"sales@{INITIAL}")
        assert created[0]["RecipientTypeDetails"] == "SharedMailbox"
        await sim.new_user("ann")
        ann = (await sim.graph("GET", f"/users/ann@{INITIAL}")).json()["id"]
        await sim.assign(ann)
        for _ in range(2):  # a repeated grant changes nothing, as in Exchange
            await values(sim, "Add-MailboxPermission", Identity="Sales", User=f"ann@{INITIAL}",
                         AccessRights=["FullAccess"], AutoMapping=False)
        await values(sim, "Add-RecipientPermission", Identity="Sales", Trustee=f"ann@{INITIAL}",
                     AccessRights=["SendAs"])
        full = await values(sim, "Get-MailboxPermission", Identity=f"sales@{INITIAL}")
        assert [(p["User"], p["AccessRights"]) for p in full] == [("Ann", ["FullAccess"])]
        send_as = await values(sim, "Get-RecipientPermission", Identity="Sales")
        assert [p["AccessRights"] for p in send_as] == [["SendAs"]]
        await values(sim, "Remove-MailboxPermission", Identity="Sales", User=f"ann@{INITIAL}",
                     AccessRights=["FullAccess"])
        assert await values(sim, "Get-MailboxPermission", Identity="Sales") == []


async def test_distribution_group_member_must_be_an_existing_recipient() -> None:
    async with m365() as sim:
        group = await values(sim, "New-DistributionGroup", Name="All Staff", Alias="staff",
                             Type="Distribution", PrimarySmtpAddress=f"staff@{INITIAL}")
        assert group[0]["RecipientTypeDetails"] == "MailUniversalDistributionGroup"
        missing = await sim.cmdlet("Add-DistributionGroupMember", Identity="staff",
                                   Member="ghost@example.org")
        assert missing.status_code == 404
        assert "ManagementObjectNotFoundException" in missing.json()["error"]["message"]
        await values(sim, "New-MailContact", Name="Partner", ExternalEmailAddress="p@partner.org")
        await values(sim, "Add-DistributionGroupMember", Identity="staff", Member="Partner")
        again = await sim.cmdlet("Add-DistributionGroupMember", Identity="staff", Member="Partner")
        assert again.status_code == 400
        members = await values(sim, "Get-DistributionGroupMember", Identity=f"staff@{INITIAL}")
        assert [m["PrimarySmtpAddress"] for m in members] == ["p@partner.org"]


async def test_get_mailbox_finds_a_licensed_user_only_after_the_provisioning_delay() -> None:
    clock = ManualClock()
    async with m365(config(knobs(mailbox_delay_s=1200), clock=clock)) as sim:
        user_id = (await sim.new_user("ann")).json()["id"]
        assert (await sim.assign(user_id)).status_code == 200
        clock.advance(1199)
        early = await sim.cmdlet("Get-Mailbox", Identity=f"ann@{INITIAL}")
        assert early.status_code == 404
        assert "ManagementObjectNotFoundException" in early.json()["error"]["message"]
        assert await values(sim, "Get-Mailbox") == []
        clock.advance(1)
        mailbox = await values(sim, "Get-Mailbox", Identity=f"ann@{INITIAL}")
        assert mailbox[0]["ExternalDirectoryObjectId"] == user_id
        assert mailbox[0]["RecipientTypeDetails"] == "UserMailbox"


async def test_primary_address_flips_to_an_accepted_domain_keeping_the_old_one() -> None:
    async with m365() as sim:
        user_id = (await sim.new_user("ann")).json()["id"]
        await sim.assign(user_id)
        refused = await sim.cmdlet("Set-Mailbox", Identity=f"ann@{INITIAL}",
                                   WindowsEmailAddress="ann@contoso.com")
        assert refused.status_code == 400  # not an accepted domain of the organization
        await values(sim, "Set-Mailbox", Identity=f"ann@{INITIAL}",
                     EmailAddresses={"Add": [f"smtp:a.lee@{INITIAL}"]})
        mailbox = (await values(sim, "Get-Mailbox", Identity=f"a.lee@{INITIAL}"))[0]
        assert mailbox["EmailAddresses"] == [f"SMTP:ann@{INITIAL}", f"smtp:a.lee@{INITIAL}"]
        await values(sim, "Set-Mailbox", Identity="ann", WindowsEmailAddress=f"a.lee@{INITIAL}")
        mailbox = (await values(sim, "Get-Mailbox", Identity="ann"))[0]
        assert mailbox["PrimarySmtpAddress"] == f"a.lee@{INITIAL}"
        assert f"smtp:ann@{INITIAL}" in mailbox["EmailAddresses"]
        user = (await sim.graph("GET", f"/users/{user_id}")).json()
        assert user["mail"] == f"a.lee@{INITIAL}"


async def test_address_in_use_by_another_recipient_is_refused() -> None:
    async with m365() as sim:
        await values(sim, "New-Mailbox", Shared=True, Name="Sales",
                     PrimarySmtpAddress=f"sales@{INITIAL}")
        clash = await sim.cmdlet("New-DistributionGroup", Name="Sales team",
                                 PrimarySmtpAddress=f"sales@{INITIAL}")
        assert clash.status_code == 400
        assert "is already being used" in clash.json()["error"]["message"]


async def test_app_gets_an_exchange_role_through_rbac_for_applications() -> None:
    async with m365() as sim:
        app = (await sim.graph("POST", "/applications", {"displayName": "MigrationApp"})).json()
        sp = (await sim.graph("POST", "/servicePrincipals", {"appId": app["appId"]})).json()
        await values(sim, "New-ServicePrincipal", AppId=app["appId"], ObjectId=sp["id"],
                     DisplayName="MigrationApp")
        await values(sim, "New-ManagementRoleAssignment", App=sp["id"],
                     Role="Application Mail.ReadWrite", Name="mf-mail")
        listed = await values(sim, "Get-ManagementRoleAssignment", RoleAssignee=app["appId"])
        assert [(a["Name"], a["Role"]) for a in listed] == [("mf-mail",
                                                             "Application Mail.ReadWrite")]
        await values(sim, "Remove-ServicePrincipal", Identity=sp["id"])
        assert await values(sim, "Get-ManagementRoleAssignment") == []


async def test_transport_rules_and_connectors_are_stored_and_listed() -> None:
    async with m365() as sim:
        await values(sim, "New-TransportRule", Name="tag external", PrependSubject="[EXT] ",
                     FromScope="NotInOrganization")
        await values(sim, "New-InboundConnector", Name="from old host", ConnectorType="Partner",
                     SenderDomains=["*"])
        rules = await values(sim, "Get-TransportRule", Identity="tag external")
        assert rules[0]["prependsubject"] == "[EXT] "
        assert [c["Name"] for c in await values(sim, "Get-InboundConnector")] == [
            "from old host"]


async def test_non_conformant_cmdlet_call_is_refused_naming_the_part() -> None:
    async with m365() as sim:
        unknown = await sim.cmdlet("New-Mailbox", Shared=True, Name="x", Colour="blue")
        assert unknown.status_code == 400
        assert "'Colour'" in unknown.json()["error"]["message"]
        not_listed = await sim.cmdlet("Get-Mailboxes")
        assert not_listed.status_code == 400 and "Get-Mailboxes" in \
            not_listed.json()["error"]["message"]
        shape = await sim.invoke({"CmdletName": "Get-Mailbox"})
        assert shape.status_code == 400


async def test_listed_but_unemulated_cmdlet_is_an_explicit_501() -> None:
    async with m365() as sim:
        reply = await sim.cmdlet("Get-OrganizationConfig")
        assert reply.status_code == 501
        assert reply.json()["error"]["code"] == "NotEmulated"
        user_mailbox = await sim.cmdlet("New-Mailbox", Name="Ann")
        assert user_mailbox.status_code == 501


async def test_graph_token_is_not_accepted_by_exchange() -> None:
    async with m365() as sim:
        headers = await sim.bearer("https://graph.microsoft.com/.default")
        reply = await sim.http.post(f"/adminapi/beta/{INITIAL}/InvokeCommand", headers=headers,
                                    json={"CmdletInput": {"CmdletName": "Get-Mailbox"}})
        assert reply.status_code == 401


async def test_exchange_throttles_with_retry_after() -> None:
    async with m365(config(knobs(throttle_every=2, retry_after_s=3))) as sim:
        first = await sim.cmdlet("Get-Mailbox")
        second = await sim.cmdlet("Get-Mailbox")
        assert (first.status_code, second.status_code) == (200, 429)
        assert second.headers["Retry-After"] == "3"


async def test_group_member_add_fails_while_the_members_mailbox_is_provisioning() -> None:
    clock = ManualClock()
    async with m365(config(knobs(mailbox_delay_s=600), clock=clock)) as sim:
        await values(sim, "New-DistributionGroup", Name="staff")
        user_id = (await sim.new_user("ann")).json()["id"]
        await sim.assign(user_id)
        early = await sim.cmdlet("Add-DistributionGroupMember", Identity="staff",
                                 Member=f"ann@{INITIAL}")
        assert early.status_code == 404
        clock.advance(600)
        await values(sim, "Add-DistributionGroupMember", Identity="staff", Member=f"ann@{INITIAL}")
        members = await values(sim, "Get-DistributionGroupMember", Identity="staff")
        assert [m["ExternalDirectoryObjectId"] for m in members] == [user_id]


async def test_domain_with_email_becomes_an_accepted_domain_only_after_its_delay() -> None:
    clock = ManualClock()
    dns = Dns()
    async with m365(config(knobs(accepted_domain_delay_s=60), clock=clock, dns=dns)) as sim:
        await sim.graph("POST", "/domains", {"id": "contoso.com"})
        code = (await sim.graph("GET", "/domains/contoso.com/verificationDnsRecords")
                ).json()["value"][0]["text"]
        dns.txt["contoso.com"] = [code]
        await sim.graph("POST", "/domains/contoso.com/verify")
        await sim.graph("PATCH", "/domains/contoso.com", {"supportedServices": ["Email"]})
        names = [d["DomainName"] for d in await values(sim, "Get-AcceptedDomain")]
        assert names == [INITIAL]
        early = await sim.cmdlet("New-Mailbox", Shared=True, Name="Info",
                                 PrimarySmtpAddress="info@contoso.com")
        assert early.status_code == 400
        clock.advance(60)
        names = [d["DomainName"] for d in await values(sim, "Get-AcceptedDomain")]
        assert sorted(names) == ["contoso.com", INITIAL]
        await values(sim, "New-Mailbox", Shared=True, Name="Info",
                     PrimarySmtpAddress="info@contoso.com")
