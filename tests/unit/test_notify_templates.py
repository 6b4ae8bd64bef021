"""Every template of SPEC.md renders, text and HTML, with a realistic order and what the
workflow gives it; a value a template names and the context lacks is an error
(StrictUndefined), never an empty gap in a customer's email."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from jinja2 import UndefinedError

from mailflip.domain.names import Template
from mailflip.notify.context import email_time, message_context
from mailflip.notify.templates import render
from mailflip.store.rows import OrderRow

ORDER = OrderRow(
    order_id="o-7f3a", partner="acme-msp", partner_email="ops@acme-msp.example",
    customer="Fabrikam Inc", poc_name="Sam Poe", poc_email="sam@fabrikam.com",
    initial_domain="fabrikam.onmicrosoft.com", status="Scheduled", status_since=None,  # type: ignore[arg-type]
    on_hold=False, hold_reason=None, hold_since=None, cancelled=False, completed=False,
    cutover=datetime(2027, 1, 15, 17, 0, tzinfo=UTC), time_zone="Europe/Berlin",
    created_at=None, placed_at=None, updated_at=datetime(2026, 12, 1, tzinfo=UTC))

LINKS = {"link": "https://mf.example/u/TOKEN-gather",
         "agent": {"server": "https://agents.mf.example", "token": "TOKEN-agent"}}

# what the workflow gives each template (lifecycle/order/bodies.py, domain/outcomes.py,
# planner.py, lifecycle.py), plus the report summary the notifier adds (outbox.REPORTED)
GIVEN: dict[Template, tuple[str, dict]] = {
    Template.PARTNER_DNS_TXT: ("ops@acme-msp.example", {"records": {
        "fabrikam.com": ["MS=ms48213377"], "fabrikam.de": ["MS=ms90012345"]}}),
    Template.USER_GATHER_INFO: ("ann@fabrikam.com", {"name": "Ann Lee"}),
    Template.PARTNER_INSUFFICIENT_LICENSES: ("ops@acme-msp.example", {
        "short": {"O365_BUSINESS_PREMIUM": 3}}),
    Template.PARTNER_DOMAIN_UNVERIFIED_HOLD: ("ops@acme-msp.example",
                                              {"domains": ["fabrikam.com"]}),
    Template.USER_PREPARE_FOR_MIGRATION: ("ann@fabrikam.com", {"name": "Ann Lee"}),
    Template.PARTNER_MX_CHANGE_NEEDED: ("ops@acme-msp.example", {"domains": ["fabrikam.com"]}),
    Template.USER_SWITCH: ("ann@fabrikam.com", {"name": "Ann Lee"}),
    Template.USER_MIGRATION_SUCCESSFUL: ("ann@fabrikam.com", {"name": "Ann Lee"}),
    Template.POC_ALL_SYNCS_DONE: ("sam@fabrikam.com", {
        "grades": {"complete": 11, "skipped": 1},
        "report": "12 mailboxes reconciled: 11 complete, 1 skipped, 0 gaps"}),
    Template.PARTNER_MIGRATION_COMPLETE: ("ops@acme-msp.example", {
        "mailboxes": 12, "report": "12 mailboxes reconciled: 11 complete, 1 skipped, 0 gaps"}),
    Template.PARTNER_SYNC_FAILED: ("ops@acme-msp.example", {
        "mailbox": "ann@fabrikam.com", "pass_name": "final",
        "error": "source login refused: [AUTHENTICATIONFAILED] Invalid credentials"}),
}

# what each email must say, in both parts
MUST_SAY: dict[Template, list[str]] = {
    Template.PARTNER_DNS_TXT: ["MS=ms48213377", "MS=ms90012345", "fabrikam.de", "15 minutes",
                               "autodiscover.outlook.com.",
                               "v=spf1 include:spf.protection.outlook.com -all"],
    Template.USER_GATHER_INFO: ["https://mf.example/u/TOKEN-gather", "ann@fabrikam.com"],
    Template.PARTNER_INSUFFICIENT_LICENSES: ["O365_BUSINESS_PREMIUM", "3 missing"],
    Template.PARTNER_DOMAIN_UNVERIFIED_HOLD: ["fabrikam.com", "on hold"],
    Template.USER_PREPARE_FOR_MIGRATION: ["https://agents.mf.example", "TOKEN-agent"],
    Template.PARTNER_MX_CHANGE_NEEDED: ["fabrikam-com.mail.protection.outlook.com."],
    Template.USER_SWITCH: ["ann@fabrikam.com"],
    Template.USER_MIGRATION_SUCCESSFUL: ["ann@fabrikam.com"],
    Template.POC_ALL_SYNCS_DONE: ["11 complete, 1 skipped", "Sam Poe"],
    Template.PARTNER_MIGRATION_COMPLETE: ["12 mailboxes", "fabrikam.onmicrosoft.com"],
    Template.PARTNER_SYNC_FAILED: ["ann@fabrikam.com", "AUTHENTICATIONFAILED", "final"],
}

CUTOVER = "Friday 15 January 2027, 18:00 CET (Europe/Berlin)"


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    p = Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


def test_every_template_of_spec_has_a_realistic_case() -> None:
    assert set(GIVEN) == set(Template) == set(MUST_SAY)


@pytest.mark.parametrize("template", list(Template))
def test_each_template_renders_text_and_html_with_the_order_filled_in(template) -> None:
    to, given = GIVEN[template]
    out = render(template, message_context(template, ORDER, to, given, LINKS, 15))
    html = html_text(out.html)
    assert out.subject and "\n" not in out.subject
    for part in (out.text, html):
        assert "Fabrikam Inc" in part and "o-7f3a" in part
        assert CUTOVER in part  # the cutover in the customer's time zone
        for words in MUST_SAY[template]:
            assert words in part, (template, words)
    assert out.subject in out.html  # its <title>
    assert "None" not in out.text and "{{" not in out.text and "{%" not in out.html


def test_the_name_of_a_user_greets_them_and_the_partner_team_otherwise() -> None:
    _, given = GIVEN[Template.USER_SWITCH]
    assert render("user_switch", message_context(
        "user_switch", ORDER, "ann@fabrikam.com", given, {}, 15)).text.startswith(
        "Hello Ann Lee,")
    assert render("partner_mx_change_needed", message_context(
        "partner_mx_change_needed", ORDER, "ops@acme-msp.example", {"domains": ["a.com"]}, {},
        15)).text.startswith("Hello acme-msp team,")


MUST_NEED_LINKS = {Template.USER_GATHER_INFO: ("link",),
                   Template.USER_PREPARE_FOR_MIGRATION: ("agent",)}


@pytest.mark.parametrize("template", list(Template))
def test_a_missing_value_fails_the_render_rather_than_leaving_a_gap(template) -> None:
    to, given = GIVEN[template]
    full = message_context(template, ORDER, to, given, LINKS, 15)
    # the order, what the workflow gave (the user's name only feeds `greeting`) and the
    # template's personal link
    needed = ["order", "greeting", *(k for k in given if k != "name"),
              *MUST_NEED_LINKS.get(template, ())]
    for name in needed:
        lacking = {k: v for k, v in full.items() if k != name}
        with pytest.raises(UndefinedError):
            render(template, lacking)


def test_html_escapes_what_comes_from_the_order() -> None:
    evil = {"mailbox": "ann@fabrikam.com", "pass_name": "final",
            "error": "<script>alert(1)</script>"}
    out = render("partner_sync_failed", message_context(
        "partner_sync_failed", ORDER, "ops@acme-msp.example", evil, {}, 15))
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "<script>alert(1)</script>" in out.text  # text is not HTML


def test_email_time_follows_daylight_saving() -> None:
    assert email_time(datetime(2027, 7, 1, 7, 30, tzinfo=UTC), "America/New_York") == \
        "Thursday 01 July 2027, 03:30 EDT (America/New_York)"
