"""POP3/IMAP consistency (issue 8): UIDL is "<UIDVALIDITY>.<UID>" of the store's INBOX,
stable across sessions; a message deleted over POP3 is gone from the store (so from IMAP);
one expunged through the store the way IMAP will (Store::expunge, via the test-only
`tern-store-dump --expunge`) is gone from POP3, and a session opened before that expunge
answers -ERR for it (no crash, no stale data) while the rest of the session works.

Mail goes in over SMTP (real tern-mta, smtplib); POP3 is real tern-pop3d with poplib.
Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_pop3_consistency.py
"""
import os
import poplib
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

USER = "alice@example.test"
PW = "consistent pw"


def make_env():
    e = TernEnv(listeners=["smtp", "pop3"], sections={"pop3": "allow_plaintext_auth = true"})
    e.ctl("domain", "add", "example.test")
    e.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
    e.start("tern-mta")
    e.start("tern-pop3d")
    return e


def body(n):
    return (f"From: x@remote.test\r\nTo: {USER}\r\nSubject: msg {n}\r\n\r\n"
            f"message number {n}\r\n.leading dot {n}\r\n" + "filler line\r\n" * (n * 5)).encode()


def smtp_deliver(env, n):
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        s.sendmail("x@remote.test", [USER], body(n))


def store_uids(env):
    """(uidvalidity, [uid...]) of the account's INBOX, read through the store API."""
    p = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--uids", USER],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    m = re.fullmatch(r"uidvalidity=(\d+) uidnext=(\d+) messages=(\d+)", lines[0])
    assert m, lines[0]
    uids = [int(x) for x in lines[1:]]
    assert len(uids) == int(m.group(3))
    assert all(u < int(m.group(2)) for u in uids)
    return int(m.group(1)), uids


def store_messages(env):
    return env.mailbox(USER, mailbox=None, check=False)


def imap_expunge(env, uid):
    """Expunge one UID through Store::expunge, as the IMAP server will."""
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--expunge", str(uid), USER],
                          capture_output=True, text=True, timeout=30)


def login(env):
    p = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=20)
    p.user(USER)
    p.pass_(PW)
    return p


def uidl_map(p):
    """{message number: unique-id} from a multi-line UIDL."""
    resp, lines, _ = p.uidl()
    assert resp.startswith(b"+OK"), resp
    out = {}
    for l in lines:
        n, uid = l.decode().split(" ")
        out[int(n)] = uid
    return out


def retr(p, n):
    resp, lines, _ = p.retr(n)
    assert resp.startswith(b"+OK"), resp
    return b"\r\n".join(lines) + b"\r\n"


def expect_err(fn, *args):
    try:
        r = fn(*args)
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR"), e
        return str(e)
    raise AssertionError(f"expected -ERR, got {r!r}"[:300])


def test_uidl_follows_store_and_deletions_both_ways():
    with make_env() as env:
        for n in (1, 2, 3):
            smtp_deliver(env, n)
        validity, uids = store_uids(env)
        assert len(uids) == 3 and validity > 0
        expected = {i + 1: f"{validity}.{u}" for i, u in enumerate(uids)}
        stored = store_messages(env)

        # Session 1: UIDL = "<UIDVALIDITY>.<UID>", single and multi-line, and message n is
        # the store's n-th UID (RETR gives its bytes).
        p = login(env)
        assert uidl_map(p) == expected
        for n, uid in expected.items():
            assert p.uidl(n).decode() == f"+OK {n} {uid}"
            assert retr(p, n) == stored[uids[n - 1]]
        p.quit()

        # Session 2: identical UIDLs.
        p = login(env)
        assert uidl_map(p) == expected
        # DELE + QUIT: the store's INBOX (what IMAP sees) no longer has that UID.
        p.dele(2)
        p.quit()
        assert store_uids(env) == (validity, [uids[0], uids[2]])
        r = imap_expunge(env, uids[1])
        assert r.returncode == 1 and r.stdout.strip() == f"not found: {uids[1]}", (r.stdout, r.stderr)

        # A session opened BEFORE the store expunge (the maildrop is snapshotted at login).
        early = login(env)
        assert uidl_map(early) == {1: expected[1], 2: expected[3]}
        # Expunge the third message through the store, as IMAP EXPUNGE will.
        r = imap_expunge(env, uids[2])
        assert r.returncode == 0 and r.stdout.strip() == f"expunged={uids[2]}", (r.stdout, r.stderr)
        assert store_uids(env) == (validity, [uids[0]])
        # The early session: -ERR for the expunged message (RETR and TOP), never stale data;
        # the other message and the session itself keep working.
        expect_err(early.retr, 2)
        expect_err(early.top, 2, 0)
        assert early.noop().startswith(b"+OK")
        assert retr(early, 1) == stored[uids[0]]
        early.quit()

        # A new session no longer lists it; the remaining UIDL is unchanged.
        p = login(env)
        assert p.stat()[0] == 1
        assert uidl_map(p) == {1: expected[1]}
        expect_err(p.retr, 2)
        p.quit()

        # UIDs are never reused: a new message gets a higher UID under the same UIDVALIDITY.
        smtp_deliver(env, 4)
        validity2, uids2 = store_uids(env)
        assert validity2 == validity and uids2[0] == uids[0] and uids2[1] > uids[2]
        p = login(env)
        assert uidl_map(p) == {1: expected[1], 2: f"{validity}.{uids2[1]}"}
        p.quit()
        assert env.procs[1].poll() is None, "tern-pop3d died"


def test_dele_of_message_expunged_meanwhile():
    """DELE in a session of a message IMAP expunged after login: QUIT still commits the
    other deletions and the daemon stays up."""
    with make_env() as env:
        for n in (1, 2, 3):
            smtp_deliver(env, n)
        validity, uids = store_uids(env)
        p = login(env)
        before = uidl_map(p)
        assert imap_expunge(env, uids[0]).returncode == 0
        p.dele(1)  # marked in the snapshot; the store already removed it
        p.dele(3)
        resp = p.quit()
        assert resp.startswith(b"+OK"), resp
        assert store_uids(env) == (validity, [uids[1]])
        p = login(env)
        assert uidl_map(p) == {1: before[2]}
        p.quit()
        assert env.procs[1].poll() is None, "tern-pop3d died"


if __name__ == "__main__":
    run_tests([test_uidl_follows_store_and_deletions_both_ways, test_dele_of_message_expunged_meanwhile])
