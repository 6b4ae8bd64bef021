"""Link: a store connection that reconnects, re-selects and backs off by itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mailflip.sync.endpoints import Endpoint
from mailflip.sync.report import PassReport
from mailflip.sync.stores import open_store
from mailflip.sync.stores.base import MailStore, StoreFault
from mailflip.sync.throttle import Backoff

T = TypeVar("T")


class FolderChanged(Exception):
    """UIDVALIDITY moved under us mid-pass: leave the folder to the next pass."""


class Link:
    def __init__(
        self,
        endpoint: Endpoint,
        backoff: Backoff,
        report: PassReport,
        max_retries: int,
        timeout_s: float,
        opener: Callable[[Endpoint, float], MailStore] = open_store,
    ) -> None:
        self.endpoint = endpoint
        self.backoff = backoff
        self.report = report
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._opener = opener
        self._store: MailStore | None = None
        self._selected: tuple[str, bool] | None = None
        self.uidvalidity: int | None = None
        self.permanent_flags: frozenset[str] | None = None

    @property
    def store(self) -> MailStore:
        if self._store is None:
            self._store = self._opener(self.endpoint, self.timeout_s)
            self._selected = None
        return self._store

    def drop(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None
        self._selected = None

    close = drop

    def once(
        self,
        fn: Callable[[MailStore], T],
        folder: str | None = None,
        readonly: bool = True,
        expect_uidvalidity: int | None = None,
    ) -> T:
        """One attempt; a StoreFault leaves the link dropped (the caller decides)."""
        self.backoff.wait()
        try:
            store = self.store
            if folder is not None and self._selected != (folder, readonly):
                self.uidvalidity, self.permanent_flags = store.select(folder, readonly)
                self._selected = (folder, readonly)
            if expect_uidvalidity is not None and self.uidvalidity != expect_uidvalidity:
                raise FolderChanged(
                    f"{folder}: UIDVALIDITY {expect_uidvalidity} -> {self.uidvalidity}"
                )
            result = fn(store)
        except StoreFault:
            self.drop()
            raise
        self.backoff.success()
        return result

    def call(
        self,
        fn: Callable[[MailStore], T],
        folder: str | None = None,
        readonly: bool = True,
        expect_uidvalidity: int | None = None,
    ) -> T:
        """Retry through faults: reconnect, re-select, wait out throttles."""
        attempt = 0
        while True:
            try:
                return self.once(fn, folder, readonly, expect_uidvalidity)
            except StoreFault as fault:
                attempt += 1
                self.fault(fault, attempt)

    def fault(self, fault: StoreFault, attempt: int) -> None:
        self.report.add(reconnects=1, throttled=int(fault.throttled))
        if attempt > self.max_retries:
            raise fault
        self.backoff.fault(fault, attempt)
