"""A tiny OAuth2 token introspection endpoint (RFC 7662 shape) for Dovecot's oauth2 passdb.

Dovecot POSTs `token=<bearer token>` (introspection_mode = post); the answer is
`{"active": true, "username": <user>}` for a token issued by `issue()`, else
`{"active": false}`.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.sync.dovecot import Dovecot


class IntrospectionServer:
    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.lookups: list[str] = []  # tokens Dovecot asked about, in order
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))
                token = (form.get("token") or [""])[0]
                with owner._lock:
                    owner.lookups.append(token)
                    user = owner.tokens.get(token)
                body = json.dumps(
                    {"active": True, "username": user} if user else {"active": False}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oauth-introspection", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/introspect"

    def start(self) -> IntrospectionServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def issue(self, user: str) -> str:
        """A fresh bearer token that introspects as active for `user`."""
        token = "tok-" + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = user
        return token


@dataclass(frozen=True)
class OAuthDovecot:
    """A second Dovecot whose XOAUTH2 / OAUTHBEARER logins are checked by `issuer`."""

    server: Dovecot
    issuer: IntrospectionServer
