"""The built-in demo order (`mailflip demo`, `mailflip orders example`)."""

from __future__ import annotations

# Admin credentials for the source: users need not give their passwords, so their
# mailboxes are ready at once and the live demo shows syncs within a minute.
DEMO_ORDER_YAML = """\
# An order for `mailflip orders create FILE`. Times: ISO 8601 with a zone
# (2026-12-01T09:00:00Z) or an offset from now (+3d, +36h, +2d4h).
order:
  partner: acme-msp
  partner_email: ops@acme-msp.example
  customer: Contoso Ltd
  poc: {name: Pat Doe, email: pat@contoso.example}
  time_zone: Europe/London          # the customer's; cutover is shown in it too
  cutover: +3d                      # at least 4 h out (lock window)
  source: {kind: imap, host: mail.contoso.example, admin_credentials: true}
  tenant:
    initial_domain: contoso.onmicrosoft.com
  vanity_domains: [contoso.example]
  settings: {ssi: true, rules_and_connectors: false}
  users:
    - {name: Ann Lee, source: ann@contoso.example, target: ann@contoso.example,
       sku: O365_BUSINESS_PREMIUM}
    - {name: Bob Roy, source: bob@contoso.example, target: bob@contoso.example,
       sku: O365_BUSINESS_PREMIUM}
  shared_mailboxes: [{name: Info, address: info@contoso.example}]
  distribution_groups: [{address: team@contoso.example,
                         members: [ann@contoso.example, bob@contoso.example]}]
"""
