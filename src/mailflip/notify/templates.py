"""The notification templates of SPEC.md: subject and plain-text body per template."""

from __future__ import annotations

from typing import Any

from mailflip.domain.names import Template

TEXTS: dict[Template, tuple[str, str]] = {
    Template.PARTNER_DNS_TXT: (
        "Publish the DNS TXT record for {domains}",
        "Add these TXT records at the DNS host so Microsoft 365 can verify the domain:\n"
        "{records}\nmailflip checks every 15 minutes."),
    Template.USER_GATHER_INFO: (
        "Your mailbox is moving to Microsoft 365",
        "Hello {name},\nplease confirm your details and give your current mailbox "
        "password so that your mail can be copied."),
    Template.PARTNER_INSUFFICIENT_LICENSES: (
        "Not enough Microsoft 365 licences",
        "The tenant lacks licences: {short}. The migration goes on; assign them before "
        "the mailboxes are created."),
    Template.PARTNER_DOMAIN_UNVERIFIED_HOLD: (
        "Migration on hold: domain not verified",
        "{domains} is not verified 48 hours before cutover, so the order is on hold. "
        "Publish the TXT record; support will set a new cutover."),
    Template.USER_PREPARE_FOR_MIGRATION: (
        "Get ready: your mailbox moves soon",
        "Hello {name},\nyour mailbox moves to Microsoft 365 soon. Keep the desktop "
        "assistant running on your PC."),
    Template.PARTNER_MX_CHANGE_NEEDED: (
        "Change the MX record of {domains}",
        "The MX record does not point to Microsoft 365 yet. Point it to the host the "
        "tenant gives for the domain (e.g. <domain>.mail.protection.outlook.com)."),
    Template.USER_SWITCH: (
        "Your mailbox has moved",
        "Hello {name},\nfrom now on your mail arrives in Microsoft 365; Outlook is being "
        "switched for you."),
    Template.USER_MIGRATION_SUCCESSFUL: (
        "Migration successful",
        "Hello {name},\nyour migration is done. Older mail keeps arriving for a few days."),
    Template.POC_ALL_SYNCS_DONE: (
        "All mail has been copied",
        "Every mailbox's final, delta and sweep syncs are done.\n"
        "Reconciliation: {report}. The attached report lists, per mailbox, what reached "
        "Microsoft 365 and every message that did not."),
    Template.PARTNER_MIGRATION_COMPLETE: (
        "Migration complete",
        "The migration is complete ({mailboxes} mailboxes). mailflip's access to the "
        "tenant has been removed and stored credentials purged.\n"
        "Reconciliation: {report}. The attached report lists, per mailbox, what reached "
        "Microsoft 365 and every message that did not."),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body); a missing context value renders empty rather than failing."""
    subject, body = TEXTS[Template(template)]
    values = _Blank({k: (", ".join(map(str, v)) if isinstance(v, list) else v)
                     for k, v in context.items()})
    return subject.format_map(values), body.format_map(values)
