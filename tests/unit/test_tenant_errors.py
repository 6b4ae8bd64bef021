"""How the tenant adapter's errors reach Temporal's retry policy (lifecycle.order.activities)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from mailflip.errors import (
    CredentialsInvalid,
    GraphNonConformant,
    TenantApiError,
    TenantNotReady,
    TenantStepUnsupported,
)
from mailflip.lifecycle.order.activities import tenant_errors


def mapped(exc: Exception) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught, tenant_errors():
        raise exc
    return caught.value


def test_a_tenant_asking_to_come_back_later_is_retried_after_its_delay_as_benign():
    err = mapped(TenantNotReady("user not replicated yet", retry_after_s=12))
    assert err.type == "TenantNotReady" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=12)
    assert err.category is ApplicationErrorCategory.BENIGN


@pytest.mark.parametrize("exc", [
    CredentialsInvalid("AADSTS7000215: invalid client secret"),
    TenantApiError(403, "Authorization_RequestDenied", "Insufficient privileges"),
    TenantStepUnsupported("folders_and_permissions: public folders are not done yet"),
    GraphNonConformant("POST /users", "mailNickName", "not a property of microsoft.graph.user"),
])
def test_tenant_refusals_no_retry_fixes_fail_at_once_with_their_type_and_text(exc):
    err = mapped(exc)
    assert err.non_retryable and err.type == type(exc).__name__
    assert str(exc) in str(err)


def test_other_errors_pass_through_for_the_ordinary_retry():
    with pytest.raises(ConnectionResetError), tenant_errors():
        raise ConnectionResetError("reset by peer")
