"""Mailbox sync engine: incremental, crash-safe, duplicate-free copies (no Temporal import).

Python API (what the lifecycle's heartbeating activity calls)::

    from mailflip.sync import PassOptions, run_pass

    report = run_pass(
        "imaps://alice@imap.example.com",      # or an Endpoint (parse_endpoint) carrying secrets
        "imaps://alice@outlook.office365.com",
        "/var/lib/mailflip/state/alice",        # state dir (SQLite ledger) or a Ledger instance
        pass_name="initial",
        options=PassOptions(since=None, max_message_size=150_000_000),
        progress_cb=lambda p: activity.heartbeat(p),   # called on the caller's thread
    )
    report.to_dict()  # PassReport: counts, bytes, item_errors, duration_s, throughput

`run_pass(source, target, state, pass_name="pass", options=None, progress_cb=None,
limiter=None) -> PassReport` is synchronous (run it in a thread-pool activity).
progress_cb receives a `Progress` at most every `options.progress_interval_s`; if it
raises (e.g. the activity was cancelled) the pass stops and the exception propagates.
Faults it cannot ride out raise `PassFailed` (`.report`, `.retryable`; retryable unless
login was refused). Running the same pass again resumes without duplicates.
A `ConnectionLimiter` shared between concurrent passes caps connections globally and per host.

`reconcile_mailbox(source, target, state, options=None, subjects=False) -> Reconciliation`
(R-RECONCILE, `mailflip.sync.reconcile`) proves a copy afterwards from the source's UID
listing and the ledger, with no second download: `complete`, `skipped` (the target
refused a message; the ledger keeps why) or `gaps` (something in scope is missing),
each absent message listed by folder, date, size and Message-ID.

IMAP logins: password (LOGIN) or an OAuth2 bearer token (XOAUTH2, `Endpoint.oauth_token`,
`--source-oauth-token-file` / `--target-oauth-token-file`). Both are tested against a real
Dovecot; for tokens its oauth2 passdb introspects them at a local HTTP endpoint
(tests/sync/test_oauth.py). A refused token is `PassFailed(retryable=False)`; a token never
appears in reports, logs or CLI output.

Guarantees: never changes the source (EXAMINE, BODY.PEEK); never deletes on the
target; every message is recorded as an intent before its APPEND and confirmed after
(APPENDUID, else Message-ID / content hash from the target's pre-APPEND UIDNEXT), so a
kill -9 at any point followed by the same pass leaves no loss and no duplicate.

Memory does not grow with folder size: each folder is diffed in UID windows of
`options.window_messages` (flags from the server, ledger rows by an indexed range query)
and its copy chunks stream through a bounded queue. Exceptions: re-keying after a
UIDVALIDITY change reads the folder's rows at once, and a Maildir store lists its folder.
"""

from mailflip.sync.endpoints import Endpoint, parse_endpoint
from mailflip.sync.engine import PassFailed, ProgressCallback, run_pass
from mailflip.sync.ledger import Ledger
from mailflip.sync.limits import ConnectionLimiter
from mailflip.sync.options import PassOptions
from mailflip.sync.report import ItemError, PassReport, Progress

__all__ = [
    "ConnectionLimiter",
    "Endpoint",
    "ItemError",
    "Ledger",
    "PassFailed",
    "PassOptions",
    "PassReport",
    "Progress",
    "ProgressCallback",
    "parse_endpoint",
    "run_pass",
]
