"""Per-domain archiving (issue 4): `ternctl domain archive DOMAIN ADDRESS|off` and the
copies the real tern-mta makes. Mail received by the domain (MX) and mail sent by an
authenticated user of the domain (submission, to a remote address: queued) both land in
the archive mailbox; `off` stops it. The archive is read back with tern-store-dump and
over POP3 (poplib, logged in as the archive account).

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_archive.py
"""
import os
import poplib
import re
import smtplib
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402

PW = "arch1ve-pw"
ARCHIVE = "archive@example.test"


def make_env():
    e = TernEnv(listeners=["smtp", "submission", "pop3"],
                sections={"pop3": "allow_plaintext_auth = true"})
    e.ctl("domain", "add", "example.test")
    e.ctl("domain", "add", "other.test")
    for u in ("alice@example.test", "bob@example.test", ARCHIVE, "carol@other.test"):
        e.ctl("user", "add", u, "--password-stdin", input=PW + "\n")
    e.ctl("alias", "add", "team@example.test", "alice@example.test,bob@example.test")
    return e


def dump(env, address, mailbox="INBOX"):
    return list(env.mailbox(address, mailbox).values())


def queue(env):
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                          capture_output=True, timeout=30).stdout


def domain_list(env):
    return env.ctl("domain", "list").stdout.splitlines()


def bad(env, args, fragment):
    """The verb fails with a non-zero exit and exactly one clear line on stderr."""
    p = env.ctl(*args, check=False)
    assert p.returncode != 0, (args, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ternctl: "), (args, p.stderr)
    assert fragment in lines[0], (args, lines[0])
    assert p.stdout == "", (args, p.stdout)


def message(subject, sender, rcpt):
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@test>\r\n\r\nbody of {subject}\r\n.dot line\r\n").encode()


def send_mx(env, sender, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [rcpt], message(subject, sender, rcpt))


def send_submission(env, user, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.ehlo("client.test")
        s.starttls(context=client_tls_context())
        s.ehlo("client.test")
        s.login(user, PW)
        s.sendmail(user, [rcpt], message(subject, user, rcpt))


def subjects(msgs):
    out = []
    for m in msgs:
        f = re.search(rb"\r\nSubject: (\S+)\r\n", m)
        assert f, m[:200]
        out.append(f.group(1).decode())
    return out


def test_cli_validation_and_list():
    with make_env() as env:
        before = domain_list(env)
        assert before == ["example.test", "other.test"], before
        bad(env, ("domain", "archive", "nope.test", ARCHIVE), "unknown domain: nope.test")
        bad(env, ("domain", "archive", "bad domain!", ARCHIVE), "malformed domain")
        bad(env, ("domain", "archive", "example.test", "not-an-address"), "malformed address: not-an-address")
        bad(env, ("domain", "archive", "example.test", "a b@example.test"), "malformed address")
        bad(env, ("domain", "archive", "example.test", "nobody@example.test"),
            "not a local account: nobody@example.test")
        bad(env, ("domain", "archive", "example.test", "someone@remote.test"),
            "not a local account: someone@remote.test")
        # An alias is not an account: the copies need a mailbox of their own.
        bad(env, ("domain", "archive", "example.test", "team@example.test"),
            "not a local account: team@example.test")
        bad(env, ("domain", "archive", "example.test"), "usage: ternctl domain archive")
        bad(env, ("domain", "archive", "example.test", ARCHIVE, "extra"), "usage: ternctl domain archive")
        assert domain_list(env) == before, "a failed verb changed something"

        p = env.ctl("domain", "archive", "Example.TEST", "Archive@Example.test")
        assert p.stdout.strip() == f"domain archive: example.test -> {ARCHIVE}", p.stdout
        assert domain_list(env) == [f"example.test  archive={ARCHIVE}", "other.test"], domain_list(env)
        # The plain domain names are still the first word of each line.
        assert [l.split()[0] for l in domain_list(env)] == ["example.test", "other.test"]

        # A failure leaves the setting as it was.
        bad(env, ("domain", "archive", "example.test", "nobody@example.test"), "not a local account")
        assert domain_list(env)[0] == f"example.test  archive={ARCHIVE}"

        # Cross-domain archive account is allowed (a local account of another domain).
        env.ctl("domain", "archive", "other.test", ARCHIVE)
        assert domain_list(env) == [f"example.test  archive={ARCHIVE}", f"other.test  archive={ARCHIVE}"]

        p = env.ctl("domain", "archive", "example.test", "off")
        assert p.stdout.strip() == "domain archive: example.test off", p.stdout
        env.ctl("domain", "archive", "other.test", "off")
        assert domain_list(env) == ["example.test", "other.test"]
        # off twice is harmless; off on an unknown domain is refused.
        env.ctl("domain", "archive", "other.test", "off")
        bad(env, ("domain", "archive", "nope.test", "off"), "unknown domain: nope.test")
        assert "domain archive DOMAIN ADDRESS|off" in env.ctl("--help").stdout


def test_archive_copies_and_off():
    with make_env() as env:
        env.ctl("domain", "archive", "example.test", ARCHIVE)
        env.start("tern-mta")
        env.start("tern-pop3d")
        tag = uuid.uuid4().hex[:8]
        inbound, outbound, foreign = f"in-{tag}", f"out-{tag}", f"foreign-{tag}"

        # Received by the domain over MX.
        send_mx(env, "sender@remote.test", "bob@example.test", inbound)
        # Sent by an authenticated user of the domain to a remote address (queued).
        send_submission(env, "alice@example.test", "someone@remote.test", outbound)
        # Mail to a domain without an archive is not archived.
        send_mx(env, "sender@remote.test", "carol@other.test", foreign)

        assert subjects(dump(env, "bob@example.test")) == [inbound]
        assert subjects(dump(env, "carol@other.test")) == [foreign]
        q = queue(env)
        assert b"to=<someone@remote.test>" in q and outbound.encode() in q, q[:400]
        arch = dump(env, ARCHIVE)
        assert subjects(arch) == [inbound, outbound], subjects(arch)
        # The archive copy is the message as delivered (body intact, trace headers added).
        for m, subj in zip(arch, (inbound, outbound)):
            assert m.startswith(b"Return-Path: <"), m[:80]
            assert m.endswith(f"body of {subj}\r\n.dot line\r\n".encode()), m[-80:]
        assert dump(env, "bob@example.test")[0] == arch[0]

        # The archive account reads its copies over POP3 like any mailbox.
        p = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=20)
        try:
            p.user(ARCHIVE)
            p.pass_(PW)
            count, _ = p.stat()
            assert count == 2, count
            got = [b"\r\n".join(p.retr(i)[1]) + b"\r\n" for i in (1, 2)]
            assert subjects(got) == [inbound, outbound]
            assert got[0].endswith(f"body of {inbound}\r\n.dot line\r\n".encode())
        finally:
            p.quit()

        # off: new mail of the domain, in and out, is no longer copied (no restart needed).
        env.ctl("domain", "archive", "example.test", "off")
        in2, out2 = f"in2-{tag}", f"out2-{tag}"
        send_mx(env, "sender@remote.test", "bob@example.test", in2)
        send_submission(env, "alice@example.test", "someone@remote.test", out2)
        assert subjects(dump(env, "bob@example.test")) == [inbound, in2]
        assert out2.encode() in queue(env)
        assert subjects(dump(env, ARCHIVE)) == [inbound, outbound]


def test_archive_account_also_recipient_gets_one_copy():
    with make_env() as env:
        env.ctl("domain", "archive", "example.test", ARCHIVE)
        env.start("tern-mta")
        subj = "both-" + uuid.uuid4().hex[:8]
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.sendmail("sender@remote.test", ["bob@example.test", ARCHIVE],
                       message(subj, "sender@remote.test", "bob@example.test"))
        assert subjects(dump(env, ARCHIVE)) == [subj]
        assert subjects(dump(env, "bob@example.test")) == [subj]


if __name__ == "__main__":
    run_tests([test_cli_validation_and_list, test_archive_copies_and_off,
               test_archive_account_also_recipient_gets_one_copy])
