"""fetchmail against tern-pop3d: over STLS (port [pop3]) and implicit TLS ([pop3s]), in
keep mode and in delete (flush) mode. Every message fetchmail hands to its MDA must be
byte-identical to what was delivered.

How bodies are compared: fetchmail is run with `invisible` (no Received: header of its
own), `no rewrite` (no header address rewriting) and `no stripcr` (the MDA gets the CRLF
line ends as sent), and its MDA is a small script that writes stdin to one file per
message. The delivered test messages are CRLF text, so the MDA's bytes must equal them.
"""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

USER = "carol@example.test"
PW = "fetch me"

MESSAGES = [
    b"From: a@example.net\r\nTo: carol@example.test\r\nSubject: first\r\n\r\nHello.\r\n",
    b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nend\r\n",
    b"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa4\xc3\xb6\xc3\xbc\r\n"
    + b"long " * 300 + b"\r\n",
    b"Subject: big\r\n\r\n" + b"".join(b"%06d %s\r\n" % (i, b"z" * 60) for i in range(20000)),
]

MDA = r'''import os, sys
d = sys.argv[1]
n = len([f for f in os.listdir(d) if f.endswith(".eml")])
data = sys.stdin.buffer.read()
tmp = os.path.join(d, "%04d.tmp" % n)
with open(tmp, "wb") as f:
    f.write(data)
os.rename(tmp, os.path.join(d, "%04d.eml" % n))
'''


class Env(TernEnv):
    def __init__(self):
        super().__init__(listeners=["pop3", "pop3s"])  # plaintext auth refused before TLS
        self.home = os.path.join(self.dir, "fmhome")
        os.makedirs(self.home)
        self.mda = os.path.join(self.dir, "mda.py")
        with open(self.mda, "w") as f:
            f.write(MDA)

    def setup(self):
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
        for m in MESSAGES:
            p = subprocess.run([self.bin("tern-deliver"), "--config", self.config_path, USER],
                               input=m, capture_output=True, timeout=60)
            assert p.returncode == 0, p.stderr
        self.start("tern-pop3d")

    def fetch(self, implicit_tls, keep, outdir):
        os.makedirs(outdir, exist_ok=True)
        port = self.port("pop3s") if implicit_tls else self.port("pop3")
        tls = "ssl" if implicit_tls else ""
        rc = os.path.join(self.dir, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(
                "set no syslog\nset invisible\n"
                f'poll 127.0.0.1 with proto POP3 port {port} uidl\n'
                f'  user "{USER}" there with password "{PW}" is "nobody" here\n'
                f"  options {tls} sslproto 'TLS1.2+' no sslcertck"
                f" {'keep' if keep else 'nokeep fetchall flush'}"
                " no rewrite no stripcr\n"
                f'  mda "/usr/bin/python3 {self.mda} {outdir}"\n')
        os.chmod(rc, stat.S_IRUSR | stat.S_IWUSR)
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        p = subprocess.run(["fetchmail", "-f", rc, "--idfile", os.path.join(self.home, "ids"),
                            "--nodetach", "-v"],
                           env=env, capture_output=True, text=True, timeout=120)
        # 0 = mail retrieved, 1 = no new mail.
        assert p.returncode in (0, 1), f"fetchmail rc={p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def fetched(self, outdir):
        files = sorted(f for f in os.listdir(outdir) if f.endswith(".eml"))
        out = []
        for f in files:
            with open(os.path.join(outdir, f), "rb") as fh:
                out.append(fh.read())
        return out

    def stat(self):
        import poplib
        from ternlib import client_tls_context
        p = poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), timeout=20, context=client_tls_context())
        p.user(USER)
        p.pass_(PW)
        n = p.stat()[0]
        p.quit()
        return n


def check_identical(got):
    assert len(got) == len(MESSAGES), f"fetched {len(got)} messages, want {len(MESSAGES)}"
    for i, (g, m) in enumerate(zip(got, MESSAGES)):
        assert g == m, f"message {i}: {len(g)} bytes vs {len(m)} delivered; first diff at " + \
            str(next((j for j in range(min(len(g), len(m))) if g[j] != m[j]), min(len(g), len(m))))


def run_mode(implicit_tls):
    with Env() as env:
        env.setup()
        # keep: everything fetched, nothing deleted; a second run fetches nothing new (UIDL).
        out1 = os.path.join(env.dir, "keep")
        p = env.fetch(implicit_tls, keep=True, outdir=out1)
        if not implicit_tls:
            assert "STLS" in p.stdout or "STLS" in p.stderr, p.stdout + p.stderr
        check_identical(env.fetched(out1))
        assert env.stat() == len(MESSAGES)
        p = env.fetch(implicit_tls, keep=True, outdir=out1)
        assert p.returncode == 1, p.stdout  # no new mail
        assert len(env.fetched(out1)) == len(MESSAGES)
        # delete mode (nokeep, fetchall, flush): fetched again, then deleted on the server.
        out2 = os.path.join(env.dir, "flush")
        env.fetch(implicit_tls, keep=False, outdir=out2)
        check_identical(env.fetched(out2))
        assert env.stat() == 0
        log = env.log("tern-pop3d")
        assert PW not in log


def test_fetchmail_stls():
    run_mode(implicit_tls=False)


def test_fetchmail_pop3s():
    run_mode(implicit_tls=True)


if __name__ == "__main__":
    run_tests([test_fetchmail_stls, test_fetchmail_pop3s])
