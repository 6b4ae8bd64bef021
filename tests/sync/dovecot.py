"""A throwaway Dovecot (Debian dovecot-imapd) on a free loopback port, for the sync tests."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_system_user(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "-g",
                name,
                "-d",
                "/nonexistent",
                "-s",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
        )


@dataclass
class Dovecot:
    base: Path
    port: int
    host: str = "127.0.0.1"
    mail_user: str = "vmail"

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    def url(self, user: str, scheme: str = "imap", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"{scheme}://{user}{secret}@{self.host}:{self.port}"

    def maildir(self, user: str) -> Path:
        return self.base / "mail" / user / "Maildir"

    def add_user(self, user: str) -> str:
        """Any user name logs in with PASSWORD (static passdb); this only makes its home."""
        home = self.base / "mail" / user
        home.mkdir(parents=True, exist_ok=True)
        pw = pwd.getpwnam(self.mail_user)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        return user

    def doveadm(self, *args: str) -> str:
        out = subprocess.run(
            ["doveadm", "-c", str(self.conf), *args], check=True, capture_output=True, text=True
        )
        return out.stdout

    def chown_mail(self, user: str) -> None:
        pw = pwd.getpwnam(self.mail_user)
        for dirpath, _dirs, files in os.walk(self.base / "mail" / user):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)


def _oauth2_config(base: Path, introspection_url: str) -> str:
    """XOAUTH2 / OAUTHBEARER checked by token introspection (Dovecot 2.3 oauth2 passdb);
    PLAIN / LOGIN still take PASSWORD, so one server can mix both on either side."""
    ext = base / "dovecot-oauth2.conf.ext"
    ext.write_text(
        f"introspection_mode = post\n"
        f"introspection_url = {introspection_url}\n"
        "force_introspection = yes\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    return f"""
# Only on the OAuth instance: refused tokens answer at once (penalty off: see service anvil).
auth_failure_delay = 0
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {ext}
}}
"""


def _quota_config(max_mail_size: str) -> str:
    """The target refuses an APPEND over this size (NO [LIMIT]), as Exchange Online
    refuses one over MaxReceiveSize."""
    return f"""
mail_plugins = $mail_plugins quota
plugin {{
  quota = maildir:User quota
  quota_max_mail_size = {max_mail_size}
}}
"""


def _config(
    base: Path,
    port: int,
    root: bool,
    introspection_url: str | None = None,
    max_mail_size: str | None = None,
) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    mechanisms = "plain login" + (" xoauth2 oauthbearer" if introspection_url else "")
    oauth2 = _oauth2_config(base, introspection_url) if introspection_url else ""
    oauth2 += _quota_config(max_mail_size) if max_mail_size else ""
    # Dovecot delays each failed login from one IP more (up to 15 s): off where tests fail logins.
    penalty = "\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }"
    penalty = penalty if introspection_url else ""
    # A token is never a password; doveadm's user lookups then skip the filtered passdb.
    static_filter = "\n  mechanisms = plain login" if introspection_url else ""
    all_users = " allow_all_users=yes" if introspection_url else ""
    login_user, internal_user, mail_uid = ("dovenull", "dovecot", "vmail") if root else (me, me, me)
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
instance_name = mailflip-test-{port}
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_uid = {mail_uid}
mail_gid = {mail_uid if not root else "vmail"}
first_valid_uid = 1
mail_location = maildir:{base}/mail/%u/Maildir
mail_max_userip_connections = 200
imap_max_line_length = 1M
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
{oauth2}passdb {{
  driver = static{static_filter}
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_uid if not root else "vmail"} home={base}/mail/%u{all_users}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot ={penalty}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def start_dovecot(
    introspection_url: str | None = None, max_mail_size: str | None = None
) -> Dovecot:
    """introspection_url: also accept XOAUTH2 / OAUTHBEARER tokens checked there.
    max_mail_size (e.g. "64k"): refuse larger APPENDs, like a target's size limit."""
    if shutil.which("dovecot") is None:
        raise RuntimeError("dovecot is not installed: apt-get install dovecot-imapd")
    root = os.getuid() == 0
    if root:
        for name in ("vmail", "dovenull"):
            _ensure_system_user(name)
    # Not under pytest's 0700 tmp dirs: the unprivileged mail user must reach its Maildirs.
    base = Path(tempfile.mkdtemp(prefix="mailflip-dovecot-"))
    os.chmod(base, 0o755)
    for sub in ("run", "mail"):
        (base / sub).mkdir()
    mail_user = "vmail" if root else pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(mail_user)
    os.chown(base / "mail", pw.pw_uid, pw.pw_gid)
    for _attempt in range(5):
        port = free_port()
        conf = _config(base, port, root, introspection_url, max_mail_size)
        (base / "dovecot.conf").write_text(conf)
        subprocess.run(["dovecot", "-c", str(base / "dovecot.conf")], check=True)
        server = Dovecot(base, port, mail_user=mail_user)
        if _wait_listening(port, base):
            return server
        stop_dovecot(server)
    raise RuntimeError(f"dovecot did not start; see {base}/dovecot.log")


def _wait_listening(port: int, base: Path) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                return s.recv(100).startswith(b"* OK")
        except OSError:
            if not (base / "run" / "master.pid").exists() and time.monotonic() > deadline - 8:
                return False
            time.sleep(0.05)
    return False


def stop_dovecot(server: Dovecot) -> None:
    pidfile = server.base / "run" / "master.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    shutil.rmtree(server.base, ignore_errors=True)
