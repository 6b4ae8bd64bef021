"""A Dovecot (Debian dovecot-imapd) of mailflip's own on a loopback port: the mail host
behind the local Microsoft 365's IMAP endpoint, and the sync tests' real IMAP server.

`start_dovecot(options, base)` writes a config into `base` (a fresh temporary directory
when none is given), starts Dovecot on a free port and waits until it greets. Logins:
- PLAIN / LOGIN with one static password (`options.password`, any user name), unless it
  is None;
- XOAUTH2 / OAUTHBEARER checked by Dovecot's oauth2 passdb at `introspection_url`
  (RFC 7662: the answer's `username` must be the user logging in).

Run as root, mail belongs to the system user `vmail` (made when missing), which must be
able to reach `base` (else ROOT_HOME is used); otherwise Dovecot runs as the invoking
user.
"""

from __future__ import annotations

import grp
import hashlib
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

from mailflip.errors import StackError
from mailflip.localnet import die_with_parent, free_port

# (name, SPECIAL-USE) of the folders every mailbox has; Exchange Online's names.
EXCHANGE_FOLDERS = (("Sent Items", "\\Sent"), ("Drafts", "\\Drafts"),
                    ("Deleted Items", "\\Trash"), ("Junk Email", "\\Junk"),
                    ("Archive", "\\Archive"))
# Run as root with a state directory the mail user cannot reach (under /root, under
# pytest's 0700 temporary directories), the mail lives here instead, one directory per
# state directory: `DovecotServer.base` says where.
ROOT_HOME = Path("/var/lib/mailflip/dovecot")
PLAIN_FOLDERS = (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                 ("Archive", "\\Archive"))


@dataclass(frozen=True)
class DovecotOptions:
    password: str | None = "pw"  # PLAIN / LOGIN with this for any user; None: none
    introspection_url: str | None = None  # XOAUTH2 / OAUTHBEARER tokens checked there
    introspection_ca_file: Path | None = None  # to trust an https introspection_url
    max_mail_size: str | None = None  # e.g. "35M": a bigger APPEND is refused (NO [LIMIT])
    folders: tuple[tuple[str, str], ...] = PLAIN_FOLDERS
    auto_create: bool = False  # make the folders on a mailbox's first login


@dataclass
class DovecotServer:
    base: Path
    port: int
    host: str = "127.0.0.1"
    mail_user: str = "vmail"
    proc: subprocess.Popen[bytes] | None = None  # the master, in the foreground (-F)

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    @property
    def log(self) -> Path:
        return self.base / "dovecot.log"

    def maildir(self, user: str) -> Path:
        return self.base / "mail" / user / "Maildir"

    def doveadm(self, *args: str) -> str:
        out = subprocess.run(["doveadm", "-c", str(self.conf), *args], check=True,
                             capture_output=True, text=True)
        return out.stdout


def start_dovecot(options: DovecotOptions = DovecotOptions(),
                  base: Path | None = None, port: int | None = None) -> DovecotServer:
    """Dovecot serving IMAP on loopback `port` (a free one when None), its state (config,
    mail) in `base`."""
    if shutil.which("dovecot") is None:
        raise StackError("dovecot is not installed: apt-get install dovecot-imapd "
                         "(`make demo` and `make test` install it)")
    root = os.getuid() == 0
    if root:
        for name in ("vmail", "dovenull"):
            _ensure_system_user(name)
    mail_user = "vmail" if root else pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(mail_user)
    if base is None:  # not under 0700 tmp dirs: the mail user must reach its Maildirs
        base = Path(tempfile.mkdtemp(prefix="mailflip-dovecot-"))
    base = where_kept(base)
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    for sub in ("run", "mail"):
        (base / sub).mkdir(exist_ok=True)
    os.chown(base / "mail", pw.pw_uid, pw.pw_gid)
    for _attempt in range(5 if port is None else 1):
        listen = free_port() if port is None else port
        (base / "dovecot.conf").write_text(_config(base, listen, root, options))
        # in the foreground, as our child: it dies with us even when we are killed hard
        proc = subprocess.Popen(["dovecot", "-F", "-c", str(base / "dovecot.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=die_with_parent)
        server = DovecotServer(base, listen, mail_user=mail_user, proc=proc)
        if _wait_listening(listen, base):
            return server
        stop_dovecot(server, remove=False)
    raise StackError(f"dovecot did not start; see {base}/dovecot.log")


def where_kept(base: Path) -> Path:
    """Where a Dovecot asked to keep its state in `base` keeps it: `base` (absolute, as
    Dovecot's paths must be), or, run as root when the mail user cannot reach `base`,
    a directory of its own under ROOT_HOME."""
    base = base.absolute()
    if os.getuid() == 0 and not _reachable(base.parent, pwd.getpwnam("vmail").pw_uid):
        return ROOT_HOME / hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:16]
    return base


def stop_dovecot(server: DovecotServer, remove: bool = True) -> None:
    """Stop it (and wait until it has); `remove` deletes its directory, mail and all."""
    pidfile = server.base / "run" / "master.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if server.proc is not None:
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    if remove:
        shutil.rmtree(server.base, ignore_errors=True)


def _reachable(path: Path, uid: int) -> bool:
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        st = part.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return False
    return True


def _ensure_system_user(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "-g", name, "-d", "/nonexistent",
                        "-s", "/usr/sbin/nologin", name], check=True)


def _oauth2_config(base: Path, options: DovecotOptions) -> str:
    ext = base / "dovecot-oauth2.conf.ext"
    ca = ""
    if options.introspection_ca_file:  # a copy Dovecot's auth process may read
        shutil.copyfile(options.introspection_ca_file, base / "introspection-ca.pem")
        os.chmod(base / "introspection-ca.pem", 0o644)
        ca = f"tls_ca_cert_file = {base / 'introspection-ca.pem'}\n"
    ext.write_text(f"introspection_mode = post\n"
                   f"introspection_url = {options.introspection_url}\n"
                   "force_introspection = yes\n"
                   "username_attribute = username\n"
                   "active_attribute = active\n"
                   "active_value = true\n" + ca)
    return f"""
# refused tokens answer at once (the penalty is off too: see service anvil)
auth_failure_delay = 0
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {ext}
}}
"""


def _folders(options: DovecotOptions) -> str:
    auto = "\n    auto = subscribe" if options.auto_create else ""
    return "".join(f'  mailbox "{name}" {{\n    special_use = {use}{auto}\n  }}\n'
                   for name, use in options.folders)


def _config(base: Path, port: int, root: bool, options: DovecotOptions) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    oauth = options.introspection_url is not None
    mechanisms = " ".join((["plain", "login"] if options.password is not None else [])
                          + (["xoauth2", "oauthbearer"] if oauth else []))
    extra = _oauth2_config(base, options) if oauth else ""
    if options.max_mail_size:  # as Exchange Online refuses one over MaxReceiveSize
        extra += ("mail_plugins = $mail_plugins quota\nplugin {\n  quota = maildir:User quota"
                  f"\n  quota_max_mail_size = {options.max_mail_size}\n}}\n")
    if options.password is not None:
        # a token is never a password; doveadm's user lookups then skip the filtered passdb
        only_plain = "\n  mechanisms = plain login" if oauth else ""
        extra += (f"passdb {{\n  driver = static{only_plain}\n"
                  f"  args = password={options.password}\n}}\n")
    # Dovecot delays each failed login from one IP more (up to 15 s): off where logins fail
    penalty = "\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }" if oauth else ""
    all_users = " allow_all_users=yes" if oauth else ""
    login_user, internal_user, mail_uid = ("dovenull", "dovecot", "vmail") if root else (me, me, me)
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
instance_name = mailflip-{port}
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_uid = {mail_uid}
mail_gid = {mail_uid}
first_valid_uid = 1
mail_location = maildir:{base}/mail/%u/Maildir
mail_max_userip_connections = 200
imap_max_line_length = 1M
namespace inbox {{
  inbox = yes
  separator = /
{_folders(options)}}}
{extra}userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_uid} home={base}/mail/%u{all_users}
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


def _wait_listening(port: int, base: Path) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                return s.recv(100).startswith(b"* OK")
        except OSError:
            if not (base / "run" / "master.pid").exists() and time.monotonic() > deadline - 8:
                return False
            time.sleep(0.05)  # polling a port that is about to open
    return False
