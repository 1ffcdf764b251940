"""Real IMAP clients against tern-imapd over IMAPS: mbsync (isync), offlineimap and
fetchmail sync a mailbox of mixed MIME messages delivered over SMTP (tern-mta); what
they store must be the bytes the store holds (Maildir keeps LF line ends, so mbsync and
offlineimap copies are compared with CRLF → LF). A second mbsync/offlineimap run after
flag changes and an expunge on the server must carry both over. Last, a message sent
over submission, APPENDed to Sent with imaplib, read back byte for byte.
"""
import imaplib
import os
import smtplib
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402

USER = "dave@example.test"
PW = "sync me please"

MIXED = [
    b"From: a@example.net\r\nTo: dave@example.test\r\nSubject: plain\r\n\r\nHello.\r\n",
    (b"From: b@example.net\r\nTo: dave@example.test\r\nSubject: =?UTF-8?B?w6TDtsO8?=\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
     b"preamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
     b"\xc3\xa4\xc3\xb6\xc3\xbc\r\n--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
     b"Content-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     + b"QUJDREVGR0g=\r\n" * 200 + b"--XX--\r\nepilogue\r\n"),
    (b"From: c@example.net\r\nTo: dave@example.test\r\nSubject: alternative\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
     b"text\r\n--b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
     b"<p>caf=C3=A9</p>\r\n--b1--\r\n"),
    (b"From: d@example.net\r\nTo: dave@example.test\r\nSubject: forwarded\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n"),
]


class ClientEnv(TernEnv):
    def __init__(self):
        super().__init__(listeners=["smtp", "submission", "imap", "imaps"],
                         sections={"imap": "allow_plaintext_auth = true"})

    def setup(self):
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
        self.start("tern-mta")
        self.start("tern-imapd")
        with smtplib.SMTP("127.0.0.1", self.port("smtp"), timeout=30) as s:
            for m in MIXED:
                s.sendmail("sender@example.net", [USER], m)
        self.cert = os.path.join(self.data_dir, "tls", "cert.pem")
        return self

    def imap(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=client_tls_context(), timeout=20)
        m.login(USER, PW)
        return m


def fingerprint(pem_path):
    """SHA-512 of the DER certificate: offlineimap checks it instead of the host name
    (the test certificate names the host, offlineimap connects by IP)."""
    import hashlib
    import ssl
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha512(der).hexdigest()


def lf(b):
    return b.replace(b"\r\n", b"\n")


def maildir_messages(path):
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            with open(os.path.join(d, f), "rb") as fh:
                out[f] = fh.read()
    return out


def strip_tuid(b):
    # mbsync adds an "X-TUID:" header line of its own to every message it stores (it
    # finds interrupted transfers by it); everything else must be the stored bytes.
    import re
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", b, count=1)


def run(cmd, env=None, timeout=120):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode == 0, f"{cmd[0]} rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def test_mbsync_sync_and_resync():
    with ClientEnv() as env:
        env.setup()
        stored = env.mailbox(USER)
        assert len(stored) == 4
        mail = os.path.join(env.dir, "mbsync-mail")
        os.makedirs(mail)
        rc = os.path.join(env.dir, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(f"""IMAPAccount tern
Host 127.0.0.1
Port {env.port("imaps")}
User {USER}
Pass "{PW}"
SSLType IMAPS
CertificateFile {env.cert}

IMAPStore far
Account tern

MaildirStore near
Path {mail}/
Inbox {mail}/INBOX

Channel c
Far :far:
Near :near:
Patterns INBOX
Create Near
Sync All
Expunge Both
SyncState *
""")
        home = dict(os.environ, HOME=env.dir)
        run(["mbsync", "-c", rc, "-a"], env=home)
        got = maildir_messages(os.path.join(mail, "INBOX"))
        a = sorted(strip_tuid(lf(v)) for v in got.values())
        b = sorted(lf(v) for v in stored.values())
        assert a == b, [(x[:300], y[:300]) for x, y in zip(a, b) if x != y][:1]
        # Server-side changes: flag one, expunge another; the second sync carries both.
        m = env.imap()
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS", "(\\Flagged \\Seen)")
        m.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        run(["mbsync", "-c", rc, "-a"], env=home)
        got = maildir_messages(os.path.join(mail, "INBOX"))
        assert len(got) == 3, got.keys()
        assert lf(stored[2]) not in [strip_tuid(lf(v)) for v in got.values()]
        flagged = [k for k, v in got.items() if strip_tuid(lf(v)) == lf(stored[1])]
        assert flagged and ":2," in flagged[0] and "F" in flagged[0].split(":2,")[1] and \
            "S" in flagged[0].split(":2,")[1], flagged


def test_offlineimap_sync_and_resync():
    with ClientEnv() as env:
        env.setup()
        stored = env.mailbox(USER)
        mail = os.path.join(env.dir, "oi-mail")
        rc = os.path.join(env.dir, "offlineimaprc")
        with open(rc, "w") as f:
            f.write(f"""[general]
accounts = t
metadata = {env.dir}/oi-meta

[Account t]
localrepository = L
remoterepository = R

[Repository L]
type = Maildir
localfolders = {mail}

[Repository R]
type = IMAP
remotehost = 127.0.0.1
remoteport = {env.port("imaps")}
remoteuser = {USER}
remotepass = {PW}
ssl = yes
cert_fingerprint = {fingerprint(env.cert)}
folderfilter = lambda f: f == 'INBOX'
""")
        home = dict(os.environ, HOME=env.dir)
        run(["offlineimap", "-c", rc, "-o", "-u", "quiet"], env=home, timeout=180)
        got = maildir_messages(os.path.join(mail, "INBOX"))
        assert sorted(lf(v) for v in got.values()) == sorted(lf(v) for v in stored.values())
        m = env.imap()
        m.select("INBOX")
        m.uid("STORE", "3", "+FLAGS", "(\\Answered)")
        m.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        run(["offlineimap", "-c", rc, "-o", "-u", "quiet"], env=home, timeout=180)
        got = maildir_messages(os.path.join(mail, "INBOX"))
        assert len(got) == 3, got.keys()
        answered = [k for k, v in got.items() if lf(v) == lf(stored[3])]
        assert answered and "R" in answered[0].split(":2,")[1], answered


def test_fetchmail_imap_byte_identical():
    with ClientEnv() as env:
        env.setup()
        stored = env.mailbox(USER)
        out = os.path.join(env.dir, "fm-out")
        os.makedirs(out)
        mda = os.path.join(env.dir, "mda.py")
        with open(mda, "w") as f:
            f.write("import sys, os, time\n"
                    "d = sys.argv[1]\n"
                    "n = len(os.listdir(d))\n"
                    "open(os.path.join(d, '%04d.eml' % n), 'wb').write(sys.stdin.buffer.read())\n")
        rc = os.path.join(env.dir, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no syslog\nset invisible\n"
                    f"poll 127.0.0.1 with proto IMAP port {env.port('imaps')}\n"
                    f'  user "{USER}" there with password "{PW}" is "nobody" here\n'
                    "  options ssl sslproto 'TLS1.2+' no sslcertck keep no rewrite no stripcr\n"
                    f'  mda "/usr/bin/python3 {mda} {out}"\n')
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        home = dict(os.environ, HOME=env.dir, FETCHMAILHOME=env.dir)
        p = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], env=home, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode in (0, 1), p.stdout + p.stderr
        files = sorted(os.listdir(out))
        got = [open(os.path.join(out, f), "rb").read() for f in files]
        assert got == [stored[u] for u in sorted(stored)], (len(got), p.stdout[-2000:])


def test_submission_then_append_to_sent():
    with ClientEnv() as env:
        env.setup()
        msg = (b"From: dave@example.test\r\nTo: someone@example.test\r\nSubject: sent copy\r\n"
               b"Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nI sent this.\r\n")
        env.ctl("user", "add", "someone@example.test", "--password-stdin", input="someone secret\n")
        s = smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=30)
        s.starttls(context=client_tls_context())
        s.login(USER, PW)
        s.sendmail(USER, ["someone@example.test"], msg)
        s.quit()
        m = env.imap()
        typ, data = m.append("Sent", "(\\Seen)", imaplib.Time2Internaldate(1764579600), msg)
        assert typ == "OK" and b"APPENDUID" in data[0], data
        uid = data[0].split()[2].rstrip(b"]")
        m.select("Sent")
        typ, data = m.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[])")
        assert data[0][1] == msg and b"\\Seen" in data[0][0], data
        m.logout()
        assert list(env.mailbox(USER, "Sent").values()) == [msg]


if __name__ == "__main__":
    run_tests([
        test_mbsync_sync_and_resync,
        test_offlineimap_sync_and_resync,
        test_fetchmail_imap_byte_identical,
        test_submission_then_append_to_sent,
    ])
