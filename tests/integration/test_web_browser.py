#!/usr/bin/env python3
"""tern-web through a real browser (tests/web/panel.test.mjs: playwright-core driving
Debian's /usr/bin/chromium headless, no downloaded browser), then the mail side of what
the browser made: the new mailbox logs in over POP3 (and IMAP when tern-imapd is built),
mail to the new forwarder reaches its targets, the auto-responder answers once, and the
forwarding carol set up for her own address (keeping a copy) delivers to alice too.
The DNS page checks against a loopback dnsmasq (MX right, SPF stale, DMARC absent).
Screenshots of every page at desktop and phone widths are kept in
build/test-artifacts/web-screenshots/."""
import imaplib
import os
import poplib
import shutil
import smtplib
import subprocess
import sys
import time

from dnslib import DnsServer
from ternlib import BIN, SRC, TernEnv, run_tests

WEB_DIR = os.path.join(SRC, "tests", "web")
SHOTS = os.path.join(BIN, "..", "test-artifacts", "web-screenshots")


def wait_for(cond, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_panel_in_a_browser_then_mail():
    if not os.path.exists(os.path.join(WEB_DIR, "node_modules", "playwright-core")):
        raise RuntimeError("tests/web/node_modules missing: scripts/setup runs npm ci in tests/web")
    have_imap = os.path.exists(os.path.join(BIN, "tern-imapd"))
    listeners = ["smtp", "pop3", "web"] + (["imap"] if have_imap else [])
    sections = {"pop3": "allow_plaintext_auth = true", "imap": "allow_plaintext_auth = true"}
    with TernEnv(listeners=listeners, sections=sections) as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("admin", "add", "root", "--password-stdin", input="root-password-1\n")
        env.ctl("admin", "add", "exadmin", "--password-stdin", "--domains", "example.test", input="ex-password-12\n")
        env.ctl("user", "add", "alice@example.test", "--password-stdin", input="alice-password-1\n")
        # The DNS page asks a loopback dnsmasq, never the system's resolver.
        dns = DnsServer(env.dir, ["test"], mx=[("shop.test", "mx.example.test", 10)],
                        txt=[("shop.test", "v=spf1 ip4:198.51.100.7 -all")])
        with open(env.config_path, "a") as f:
            f.write(f'\n[dns]\nservers = ["127.0.0.1:{dns.port}"]\n')
        env.start("tern-mta")
        env.start("tern-pop3d")
        if have_imap:
            env.start("tern-imapd")
        env.start("tern-web")
        shutil.rmtree(SHOTS, ignore_errors=True)
        e = dict(os.environ, TERN_WEB_URL=f"http://127.0.0.1:{env.port('web')}", TERN_SHOTS=SHOTS,
                 TERN_ADMIN="root", TERN_ADMIN_PW="root-password-1",
                 TERN_DOMAIN_ADMIN="exadmin", TERN_DOMAIN_ADMIN_PW="ex-password-12")
        try:
            p = subprocess.run(["node", "panel.test.mjs"], cwd=WEB_DIR, env=e, capture_output=True, text=True,
                               timeout=300)
        finally:
            dns.stop()
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        assert p.returncode == 0 and p.stdout.rstrip().endswith("OK"), "browser test failed"
        shots = os.listdir(SHOTS)
        assert len([s for s in shots if s.endswith("-phone.png")]) >= 10, shots

        # The mailbox made in the browser logs in over POP3 (and IMAP).
        pop = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=20)
        pop.user("carol@shop.test")
        pop.pass_("carol-password-1")
        assert pop.stat()[0] == 0
        pop.quit()
        if have_imap:
            im = imaplib.IMAP4("127.0.0.1", env.port("imap"))
            im.login("carol@shop.test", "carol-password-1")
            assert im.select("INBOX")[0] == "OK"
            im.logout()

        # Mail to the forwarder reaches both targets.
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.sendmail("alice@example.test", ["sales@shop.test"],
                       b"From: alice@example.test\r\nTo: sales@shop.test\r\nSubject: order 1\r\n"
                       b"Message-ID: <order1@example.test>\r\n\r\nplease\r\n")
        wait_for(lambda: any(b"order 1" in m for m in env.mailbox("carol@shop.test").values()), what="carol's copy")
        wait_for(lambda: any(b"order 1" in m for m in env.mailbox("alice@example.test").values()), what="alice's copy")

        # The auto-responder (made in the browser) answers once per sender.
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            for i in (1, 2):
                s.sendmail("fan@remote.example", ["carol@shop.test"],
                           f"From: fan@remote.example\r\nTo: carol@shop.test\r\nSubject: hi {i}\r\n"
                           f"Message-ID: <hi{i}@remote.example>\r\n\r\nhello\r\n".encode())
        q = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                           capture_output=True, timeout=30).stdout
        replies = [part for part in q.split(b"=== ") if b"to=<fan@remote.example>" in part
                   and b"Auto-Submitted: auto-replied" in part]
        assert len(replies) == 1, q
        # carol's own forwarding (set in the browser, keeping a copy): alice got it, carol too.
        wait_for(lambda: any(b"Subject: hi 1" in m for m in env.mailbox("alice@example.test").values()),
                 what="carol's mail forwarded to alice")
        assert any(b"Subject: hi 1" in m for m in env.mailbox("carol@shop.test").values()), "carol kept a copy"
        assert b"Subject: Out of office" in replies[0] and b"I am away until Monday." in replies[0]
        # Nothing the browser typed into the log as a password.
        assert "carol-password-1" not in env.log("tern-web") and "root-password-1" not in env.log("tern-web")


if __name__ == "__main__":
    run_tests([test_panel_in_a_browser_then_mail])
