"""`mailflip sim smtp`: a real SMTP server process that keeps what the notifier's SMTP
adapter sends (headers, the stable Message-ID, attachments), read back with `list` and
`show`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mailflip.localnet import free_port
from mailflip.notify.catcher import caught
from mailflip.notify.outbox import Attachment, Outgoing
from mailflip.notify.smtp import SmtpDeliver

from .cli import MAILFLIP, env_for, mailflip, wait_listening


async def test_sim_smtp_keeps_what_the_notifier_sends(tmp_path: Path) -> None:
    port, maildir, env = free_port(), tmp_path / "smtp", env_for(tmp_path)
    proc = subprocess.Popen([MAILFLIP, "sim", "smtp", "--port", str(port), "--maildir",
                             str(maildir)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, proc, "mailflip sim smtp")
        deliver = SmtpDeliver("127.0.0.1", port, "migrations@msp.example")
        out = Outgoing("order-1/poc/poc_all_syncs_done", "pat@contoso.com",
                       "Contoso: every mailbox is synced", "All 3 mailboxes are synced.",
                       (Attachment("report.html", "text/html", b"<p>ok</p>"),))
        await deliver(out)
        await deliver(out)  # a redelivery after a crash: same Message-ID
        [first, again] = caught(maildir)
        assert first.message["Message-ID"] == again.message["Message-ID"] == out.message_id
        assert first.subject == out.subject and first.to == "pat@contoso.com"
        listed = mailflip("sim", "smtp", "list", "--maildir", str(maildir), env=env)
        assert listed.stdout.count("Contoso: every mailbox is synced") == 2
        short = first.id.rsplit(".", 1)[0]
        assert short in listed.stdout
        shown = mailflip("sim", "smtp", "--maildir", str(maildir), "show", short, env=env)
        assert shown.returncode == 0, shown.stderr
        assert "All 3 mailboxes are synced." in shown.stdout
        assert "[attachment report.html (text/html)]" in shown.stdout
        unknown = mailflip("sim", "smtp", "show", "nope", "--maildir", str(maildir), env=env)
        assert unknown.returncode == 2 and "id: 'nope' matches 0 messages" in unknown.stderr
    finally:
        proc.terminate()
        stdout, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"MAILFLIP_SMTP_PORT={port}" in stdout
