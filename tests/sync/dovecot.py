"""The sync tests' Dovecot: mailflip's own launcher (mailflip.mail.dovecot), with the
helpers tests use to seed and inspect its mailboxes."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

from mailflip.mail.dovecot import DovecotOptions, DovecotServer, free_port
from mailflip.mail.dovecot import start_dovecot as _start
from mailflip.mail.dovecot import stop_dovecot as _stop

PASSWORD = "pw"
__all__ = ["PASSWORD", "Dovecot", "free_port", "start_dovecot", "stop_dovecot"]


@dataclass
class Dovecot(DovecotServer):
    def url(self, user: str, scheme: str = "imap", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"{scheme}://{user}{secret}@{self.host}:{self.port}"

    def add_user(self, user: str) -> str:
        """Any user name logs in with PASSWORD (static passdb); this only makes its home."""
        home = self.base / "mail" / user
        home.mkdir(parents=True, exist_ok=True)
        pw = pwd.getpwnam(self.mail_user)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        return user

    def chown_mail(self, user: str) -> None:
        pw = pwd.getpwnam(self.mail_user)
        for dirpath, _dirs, files in os.walk(self.base / "mail" / user):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)


def start_dovecot(introspection_url: str | None = None,
                  max_mail_size: str | None = None) -> Dovecot:
    """introspection_url: also accept XOAUTH2 / OAUTHBEARER tokens checked there.
    max_mail_size (e.g. "64k"): refuse larger APPENDs, like a target's size limit."""
    s = _start(DovecotOptions(password=PASSWORD, introspection_url=introspection_url,
                              max_mail_size=max_mail_size))
    return Dovecot(s.base, s.port, s.host, s.mail_user)


def stop_dovecot(server: Dovecot) -> None:
    _stop(server)
