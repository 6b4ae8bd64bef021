"""Store fixtures: every store test body runs against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from mailflip.domain.model import (
    Alert,
    CtpRun,
    Domain,
    Hold,
    Mailbox,
    OrderSpec,
    OrderState,
    Poc,
    SharedMailboxSpec,
    Task,
    UserSpec,
)
from mailflip.domain.names import AlertCode, Ctp, CtpState, Status, TaskCode
from mailflip.store.repositories import SqlStore, create_store

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store')}/mailflip.db"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def store(database_url: str, secret_key: str) -> Iterator[SqlStore]:
    opened = create_store(database_url, secret_key=secret_key, clock=lambda: T0)
    yield opened
    opened.close()


def make_state(order_id: str = "o-1", users: int = 3) -> OrderState:
    """A placed order part-way through S3, with tasks, alerts and a hold."""
    spec = OrderSpec(
        partner="msp-1",
        customer="Contoso Ltd",
        poc=Poc("Pat Doe", "pat@contoso.example"),
        cutover=T0 + timedelta(days=30),
        initial_domain="contoso.onmicrosoft.com",
        time_zone="Europe/Paris",
        vanity_domains=["contoso.example"],
        users=[
            UserSpec(f"User {i}", f"u{i}@old.example", f"u{i}@contoso.example", "O365_BUSINESS")
            for i in range(users)
        ],
        shared_mailboxes=[SharedMailboxSpec("Info", "info@contoso.example")],
    )
    mailboxes = {
        u.target: Mailbox(address=u.target, source=u.source, needs_password=True)
        for u in spec.users
    }
    mailboxes["info@contoso.example"] = Mailbox(
        address="info@contoso.example", source="info@old.example", kind="shared"
    )
    setup = Ctp.SETUP_O365.value
    return OrderState(
        order_id=order_id,
        spec=spec,
        status=Status.INITIATING_VANITY,
        created_at=T0 - timedelta(days=2),
        placed_at=T0 - timedelta(days=1),
        status_since=T0,
        hold=Hold("vanity_domain_unverified", T0),
        ctps={
            setup: CtpRun(
                setup,
                CtpState.COMPLETED,
                runs=1,
                attempts=2,
                started_at=T0,
                ended_at=T0 + timedelta(minutes=3),
            )
        },
        mailboxes=mailboxes,
        domains={"contoso.example": Domain("contoso.example", added=True)},
        tasks=[Task(1, TaskCode.MAILBOX_FAILED.value, "u1@contoso.example", T0, detail="quota")],
        alerts=[Alert(AlertCode.INSUFFICIENT_LICENSES.value, "warning", T0, "2 missing")],
    )


@pytest.fixture
def state_factory() -> Callable[..., OrderState]:
    return make_state


@pytest.fixture
def t0() -> datetime:
    """The store's clock in these tests (and the sample order's "now")."""
    return T0
