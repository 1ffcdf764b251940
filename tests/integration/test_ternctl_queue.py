"""`ternctl queue list [--json] | show ID [--json] | flush [ID] | delete ID` against a
running tern-mta whose messages a scripted peer defers (451 with terminal escapes in its
text, as a hostile or broken peer may send), with retries an hour apart.

Checked: a line per queued recipient with id, age, sender, recipient, attempts, next
attempt and the peer's last error, shown with its control octets escaped (no ESC reaches
the admin's terminal); the same in JSON; `show`; `flush ID` makes one entry due and the
worker sends it at once while the others wait; `delete ID` removes one entry and sends no
bounce; every bad argument gets the usage line (64) or "not found" (65), nothing changed.
And `delete ID` while that entry's attempt is under way: the peer's 550 that follows
sends no bounce either (on 75a5b57 it did).
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from outboundlib import PySmtpPeer, submit_many, wait_for  # noqa: E402

PW = "secret-pw-1"
HOSTILE = b"451 4.7.1 \x1b[2J\x1b]0;owned\x07greylisted, try later\r\n"


def listing(env):
    return json.loads(env.ctl("queue", "list", "--json").stdout)


def test_queue_verbs_on_deferred_mail():
    with PySmtpPeer(name="mx.literal.test") as peer, TernEnv(extra_config=f"""
[outbound]
port = {peer.port}
retry_min = "1h"
retry_max = "2h"
""") as env:
        peer.rcpt_reply = HOSTILE
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
        env.start("tern-mta")
        submit_many(env, "a@example.test", PW,
                    [(rcpts, f"From: a@example.test\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n\r\nhi\r\n".encode())
                     for rcpts, subject in ((["x@[127.0.0.1]", "y@[127.0.0.1]"], "one"), (["z@[127.0.0.1]"], "two"))])
        q = wait_for(lambda: (lambda l: l if len(l) == 3 and all(e["attempts"] == 1 for e in l) else None)(listing(env)),
                     what="three entries deferred once")
        by_rcpt = {e["recipient"]: e for e in q}
        assert sorted(by_rcpt) == ["x@[127.0.0.1]", "y@[127.0.0.1]", "z@[127.0.0.1]"], q
        for e in q:
            assert e["sender"] == "a@example.test" and e["size"] > 0, e
            assert e["next_attempt"] - e["created"] >= 3000, e  # an hour away
            assert "greylisted, try later" in e["last_error"], e
            assert "\x1b" not in e["last_error"] and "\x07" not in e["last_error"], e
            assert "\\x1b" in e["last_error"], e

        # The text listing: a line per recipient, the escapes shown, not sent to the terminal.
        out = env.ctl("queue", "list").stdout
        assert "\x1b" not in out and "\x07" not in out, repr(out)
        lines = out.splitlines()
        assert len(lines) == 3, out
        for line in lines:
            assert re.fullmatch(r"\d+  age=\d+s  from=<a@example\.test>  to=<[xyz]@\[127\.0\.0\.1\]>  "
                                r"attempts=1  next=in (59|60)m  error=451 4\.7\.1 .*greylisted, try later", line), line

        x = by_rcpt["x@[127.0.0.1]"]
        show = env.ctl("queue", "show", str(x["id"])).stdout
        assert f"id: {x['id']}\n" in show and "recipient: <x@[127.0.0.1]>\n" in show, show
        assert "attempts: 1\n" in show and "next attempt: in " in show and "\x1b" not in show, show
        assert json.loads(env.ctl("queue", "show", str(x["id"]), "--json").stdout) == x

        # Bad arguments: usage (64) or not found (65), one line, nothing changed.
        missing = str(max(e["id"] for e in q) + 1000)
        for args, status, text in ((("show",), 64, "usage: ternctl queue show ID"),
                                   (("show", "abc"), 64, "usage"),
                                   (("show", "0"), 64, "usage"),
                                   (("show", "-1"), 64, "usage"),
                                   (("show", "99999999999999999999"), 64, "usage"),
                                   (("show", missing), 65, "not found"),
                                   (("flush", missing), 65, "not found"),
                                   (("flush", "1", "2"), 64, "usage: ternctl queue flush [ID]"),
                                   (("delete",), 64, "usage: ternctl queue delete ID"),
                                   (("delete", missing), 65, "not found"),
                                   (("list", "extra"), 64, "usage: ternctl queue list"),
                                   (("frob",), 64, "unknown verb")):
            p = env.ctl("queue", *args, check=False)
            assert p.returncode == status, (args, p.returncode, p.stdout, p.stderr)
            err = p.stderr.strip().splitlines()
            assert len(err) == 1 and text in err[0], (args, p.stderr)
        assert listing(env) == q

        # flush ID: that entry is due now and sent at once (the peer accepts now); the
        # others keep waiting for their hour.
        peer.rcpt_reply = None
        z = by_rcpt["z@[127.0.0.1]"]
        assert env.ctl("queue", "flush", str(z["id"])).stdout.strip() == "1 entry due now"
        wait_for(lambda: [m for m in peer.messages if m["rcpts"] == ["z@[127.0.0.1]"]], timeout=10,
                 what="the flushed entry sent")
        wait_for(lambda: len(listing(env)) == 2, timeout=10, what="the sent entry dequeued")
        time.sleep(1)
        left = listing(env)
        assert sorted(e["recipient"] for e in left) == ["x@[127.0.0.1]", "y@[127.0.0.1]"], left
        assert all(e["attempts"] == 1 for e in left), left
        assert len(peer.messages) == 1, peer.messages

        # delete ID: gone, no bounce to the sender; the other recipient stays queued.
        out = env.ctl("queue", "delete", str(x["id"])).stdout
        assert out.strip() == f"deleted queue entry {x['id']} (no bounce is sent)", out
        assert [e["recipient"] for e in listing(env)] == ["y@[127.0.0.1]"]
        p = env.ctl("queue", "delete", str(x["id"]), check=False)
        assert p.returncode == 65 and "not found" in p.stderr, (p.returncode, p.stderr)
        time.sleep(1)
        assert not env.mailbox("a@example.test", check=False), "a bounce or notice was sent"

        # flush (all): the last one goes too.
        assert env.ctl("queue", "flush").stdout.strip() == "1 entry due now"
        wait_for(lambda: not listing(env), timeout=10, what="empty queue")
        assert sorted(r for m in peer.messages for r in m["rcpts"]) == ["y@[127.0.0.1]", "z@[127.0.0.1]"]
        assert env.ctl("queue", "list").stdout == ""
        assert env.ctl("queue", "list", "--json").stdout.strip() == "[]"


def test_delete_during_the_attempt_sends_no_bounce():
    deleted = []

    def hook(point, msg):
        # The body is read, the peer's reply not yet sent: the admin deletes the entry.
        if point == "before_250" and not deleted:
            (e,) = listing(env)
            out = env.ctl("queue", "delete", str(e["id"])).stdout
            deleted.append(out.strip())

    with PySmtpPeer(name="mx.literal.test", hook=hook) as peer, TernEnv(extra_config=f"""
[outbound]
port = {peer.port}
retry_min = "1h"
""") as env:
        peer.data_reply = b"550 5.7.1 refused after all\r\n"
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
        env.start("tern-mta")
        submit_many(env, "a@example.test", PW,
                    [(["x@[127.0.0.1]"], b"From: a@example.test\r\nTo: x@[127.0.0.1]\r\nSubject: one\r\n\r\nhi\r\n")])
        wait_for(lambda: re.search(r"to=<x@\[127\.0\.0\.1\]>.*status=bounced", env.log("tern-mta")),
                 timeout=20, what="the attempt's outcome")
        assert len(deleted) == 1 and deleted[0].startswith("deleted queue entry"), deleted
        assert listing(env) == []
        time.sleep(1)
        assert not env.mailbox("a@example.test", check=False), "a bounce was sent for a deleted entry"
        assert "no DSN to a@example.test: its queue entries were deleted" in env.log("tern-mta")

if __name__ == "__main__":
    run_tests([test_queue_verbs_on_deferred_mail, test_delete_during_the_attempt_sends_no_bounce])
