"""Mail in over SMTP (smtplib -> tern-mta), out over POP3 (poplib and fetchmail-free raw
check): the retrieved message is the sent one, byte for byte, behind the trace header
fields the MTA prepends (design §4: Return-Path and Received, nothing else changed).

Needs build/bin/tern-mta; until the MTA is built this test prints SKIP and passes.
"""
import os
import poplib
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, TernEnv, run_tests  # noqa: E402

USER = "dave@example.test"
PW = "smtp to pop"

SENT = [
    b"From: sender@example.net\r\nTo: dave@example.test\r\nSubject: via smtp\r\n"
    b"Message-ID: <1@example.net>\r\n\r\nHello over SMTP.\r\n.line with dot\r\n..\r\nbye\r\n",
    b"From: sender@example.net\r\nTo: dave@example.test\r\nSubject: bigger\r\n\r\n"
    + b"".join(b"%05d %s\r\n" % (i, b"q" * 70) for i in range(3000)),
]


def split_trace(msg):
    """Return (trace header block, rest): leading Return-Path/Received fields."""
    pos = 0
    while True:
        end = msg.find(b"\r\n", pos)
        line = msg[pos:end]
        name = line.split(b":", 1)[0].lower()
        if name not in (b"return-path", b"received"):
            return msg[:pos], msg[pos:]
        pos = end + 2
        while msg[pos:pos + 1] in (b" ", b"\t"):  # folded continuation lines
            pos = msg.find(b"\r\n", pos) + 2


def test_smtp_in_pop3_out():
    if not os.path.exists(os.path.join(BIN, "tern-mta")):
        print("SKIP test_smtp_in_pop3_out: tern-mta not built")
        return
    with TernEnv(listeners=["smtp", "pop3", "pop3s"],
                 sections={"pop3": "allow_plaintext_auth = true"}) as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
        env.start("tern-mta")
        env.start("tern-pop3d")
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
            for m in SENT:
                s.sendmail("sender@example.net", [USER], m)
        p = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=30)
        p.user(USER)
        p.pass_(PW)
        count, _ = p.stat()
        assert count == len(SENT), count
        for i, m in enumerate(SENT):
            resp, lines, octets = p.retr(i + 1)
            got = b"".join(l + b"\r\n" for l in lines)
            assert octets == len(got)
            assert resp == b"+OK %d octets" % len(got)
            trace, rest = split_trace(got)
            assert trace.startswith(b"Return-Path: <sender@example.net>\r\n"), trace
            assert b"\r\nReceived: " in b"\r\n" + trace, trace
            assert rest == m, f"message {i} differs behind the trace fields"
        p.quit()


if __name__ == "__main__":
    run_tests([test_smtp_in_pop3_out])
