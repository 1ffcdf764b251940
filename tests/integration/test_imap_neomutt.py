"""neomutt over IMAPS against tern-imapd, driven in tmux with send-keys: open INBOX,
read a message, flag another, save (move) a third to Trash, sync (expunge), quit. What it
did is checked afterwards with imaplib and the store: \\Seen on the read one, \\Flagged on
the flagged one, the moved one in Trash byte for byte and gone from INBOX.

neomutt runs with a throwaway HOME and a muttrc that trusts the test certificate
(certificate_file holds it, so no "(r)eject, accept (o)nce" question; the host name is not
checked because the test certificate names mx.example.test and we connect by IP). Every
wait is bounded; the tmux server (its own socket) is killed at the end.

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_neomutt.py
"""
import imaplib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import client_tls_context, run_tests  # noqa: E402
from test_imap import PW, USER, ImapEnv  # noqa: E402

MSGS = [
    (b"From: Bob <bob@example.net>\r\nTo: alice@example.test\r\nSubject: to be read\r\n"
     b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <r@example.net>\r\n\r\n"
     b"The body of the first message says kumquat.\r\n"),
    (b"From: Carol <carol@example.net>\r\nTo: alice@example.test\r\nSubject: to be flagged\r\n"
     b"Date: Tue, 01 Dec 2026 09:00:00 +0000\r\nMessage-ID: <f@example.net>\r\n\r\nflag me\r\n"),
    (b"From: Dan <dan@example.net>\r\nTo: alice@example.test\r\nSubject: to be trashed\r\n"
     b"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <t@example.net>\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n"
     b"bye\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"AAECAwQF\r\n--zz--\r\n"),
]


class Tmux:
    def __init__(self, home):
        self.sock = f"tern-neomutt-{os.getpid()}"
        self.env = dict(os.environ, HOME=home, TERM="xterm-256color", LC_ALL="C.UTF-8")
        self.env.pop("TMUX", None)

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, timeout=20, check=check)

    def start(self, cmd):
        self.run("new-session", "-d", "-s", "t", "-x", "160", "-y", "45", cmd)

    def keys(self, *keys, literal=False):
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "t", check=False).stdout

    def wait(self, pred, what, timeout=30):
        deadline = time.time() + timeout
        s = ""
        while time.time() < deadline:
            s = self.screen()
            if "accept (o)nce" in s or "(r)eject" in s:
                raise AssertionError("neomutt asks about the certificate:\n" + s)
            if pred(s):
                return s
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{s}")

    def kill(self):
        self.run("kill-server", check=False)


def flags_of(screen, subject):
    """The %Z flags between [ ] on the index line of `subject` ("" if not shown)."""
    for line in screen.splitlines():
        if subject in line:
            m = re.search(r"\[([^\]]*)\]", line)
            return m.group(1) if m else ""
    return ""


def muttrc(home, port, cert):
    certs = os.path.join(home, "certificates")
    shutil.copy(cert, certs)
    text = f'''
set folder="imaps://127.0.0.1:{port}/"
set spoolfile="+INBOX"
set imap_user="{USER}"
set imap_pass="{PW}"
set certificate_file="{certs}"
set ssl_ca_certificates_file="{cert}"
set ssl_verify_host=no
set ssl_force_tls=yes
set header_cache=""
set message_cachedir=""
set record=""
set postponed="+Drafts"
set sort=mailbox-order
set index_format="%4C [%Z] %-20.20L %s"
set delete=yes
set confirmappend=no
set confirmcreate=no
set quit=yes
set move=no
set mark_old=no
set wait_key=no
set beep=no
set imap_check_subscribed=no
set imap_authenticators="plain"
set mail_check=60
set timeout=60
set sidebar_visible=no
set help=no
'''
    path = os.path.join(home, "muttrc")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_neomutt_read_flag_move_expunge():
    with ImapEnv(plaintext=False) as env:
        env.setup(messages=MSGS)
        cert = os.path.join(env.data_dir, "tls", "cert.pem")
        home = tempfile.mkdtemp(prefix="tern-neomutt-")
        tmux = Tmux(home)
        try:
            rc = muttrc(home, env.port("imaps"), cert)
            # The pane outlives neomutt (sleep), so an early exit leaves its message on screen.
            tmux.start(f"neomutt -n -F {rc}; echo NEOMUTT-EXITED rc=$?; sleep 120")
            tmux.wait(lambda s: "to be read" in s and "to be trashed" in s, "the INBOX index")
            # Read message 1 (jump by number, open it), back to the index.
            tmux.keys("1")
            tmux.keys("Enter")
            tmux.keys("Enter")
            tmux.wait(lambda s: "kumquat" in s, "the pager with message 1")
            tmux.keys("q")
            tmux.wait(lambda s: "to be flagged" in s and "kumquat" not in s, "the index again")
            # Flag message 2.
            tmux.keys("2")
            tmux.keys("Enter")
            tmux.keys("F")
            tmux.wait(lambda s: "!" in flags_of(s, "to be flagged"), "message 2 flagged")
            # Save (move) message 3 to Trash: the original is marked deleted.
            tmux.keys("3")
            tmux.keys("Enter")
            tmux.keys("s")
            tmux.wait(lambda s: "Save to mailbox" in s, "the save prompt")
            tmux.keys("C-u")
            tmux.keys("=Trash", literal=True)
            tmux.keys("Enter")
            tmux.wait(lambda s: "D" in flags_of(s, "to be trashed"), "message 3 marked deleted")
            # Sync: flags written, the deleted one expunged.
            tmux.keys("$")
            tmux.wait(lambda s: "to be trashed" not in s and "to be flagged" in s, "the expunge")
            tmux.keys("q")
            s = tmux.wait(lambda s: "NEOMUTT-EXITED" in s, "neomutt to quit")
            assert "NEOMUTT-EXITED rc=0" in s, s
        finally:
            screen = tmux.screen()
            tmux.kill()
            shutil.rmtree(home, ignore_errors=True)
        # What neomutt did, as another client and the store see it.
        m = imaplib.IMAP4_SSL("127.0.0.1", env.port("imaps"), ssl_context=client_tls_context(), timeout=20)
        m.login(USER, PW)
        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"2"], (data, screen)
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
        flags = {}
        for d in data:
            if isinstance(d, tuple):
                flags[d[1].strip().decode()] = d[0].decode()
        assert "\\Seen" in flags["Subject: to be read"], flags
        assert "\\Flagged" in flags["Subject: to be flagged"], flags
        assert "\\Deleted" not in "".join(flags.values()), flags
        typ, data = m.select("Trash")
        assert typ == "OK" and data == [b"1"], data
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert data[0][1] == MSGS[2], data
        m.logout()
        assert sorted(env.mailbox(USER, "INBOX").values()) == sorted(MSGS[:2])
        assert list(env.mailbox(USER, "Trash").values()) == [MSGS[2]]
        log = env.log("tern-imapd")
        assert "tls" in log, log[-2000:]


if __name__ == "__main__":
    if not shutil.which("neomutt") or not shutil.which("tmux"):
        print("neomutt or tmux missing (scripts/setup installs them)")
        sys.exit(1)
    run_tests([test_neomutt_read_flag_move_expunge])
