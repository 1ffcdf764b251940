#!/usr/bin/env python3
"""tern-web with tern-mta, end to end over SMTP:

- a mailbox user sets up forwarding of their own address in the panel (/me): with
  "keep a copy" the message lands in their INBOX, in the local target's INBOX and in
  the outbound queue for the remote target with an SRS envelope sender (as forwarders
  do); without it, only the targets get it;
- the queue worker's real attempt (to a closed port) shows in the queue's attempt log,
  and "retry now" leaves the attempt count equal to the attempts actually made;
- /metrics and the dashboard (its API) give the same numbers for the mail just sent,
  received / delivered / rejected by reason, and the queue size."""
import html
import json
import re
import smtplib
import subprocess
import tempfile
import time

from dnslib import DnsServer
from ternlib import TernEnv, free_port, run_tests
from test_web import Client

ROOT_PW = "rootpassword1"
ALICE_PW = "alicepassword1"


def wait_for(cond, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def send(env, rcpts, subject, sender="x@sender.test"):
    msg = (f"From: {sender}\r\nTo: {rcpts[0]}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@sender.test>\r\n\r\nhello\r\n").encode()
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        s.sendmail(sender, rcpts, msg)


def has(env, address, subject):
    return any(f"Subject: {subject}".encode() in m for m in env.mailbox(address).values())


def queue(env):
    out = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                         capture_output=True, timeout=30).stdout.decode(errors="replace")
    return re.findall(r"^=== id=(\d+) from=<([^>]*)> to=<([^>]*)>", out, re.M)


def sample(metrics, series):
    m = re.search("^" + re.escape(series) + r" (\S+)$", metrics, re.M)
    assert m, (series, metrics)
    return float(m.group(1))


def test_forwarding_queue_and_metrics():
    closed = free_port()  # nothing listens: every outbound attempt fails (4xx, retried)
    dns_dir = tempfile.TemporaryDirectory(prefix="tern-dns-")
    dns = DnsServer(dns_dir.name, ["remote.test"], mx=[("remote.test", "mx.remote.test", 10)],
                    a=[("mx.remote.test", "127.0.0.1")])
    try:
        extra = (f'[dns]\nservers = ["127.0.0.1:{dns.port}"]\n'
                 f'[outbound]\nport = {closed}\nretry_min = "1h"\nretry_max = "2h"\n')
        with TernEnv(listeners=["smtp", "web"], extra_config=extra) as env:
            env.ctl("domain", "add", "example.test")
            env.ctl("admin", "add", "root", "--password-stdin", input=ROOT_PW + "\n")
            env.ctl("user", "add", "alice@example.test", "--password-stdin", input=ALICE_PW + "\n")
            env.ctl("user", "add", "bob@example.test", "--password-stdin", input="bobpassword12\n")
            env.start("tern-mta")
            env.start("tern-web")

            # Alice forwards her own mail, keeping a copy.
            alice = Client(env.port("web"))
            assert alice.login("alice@example.test", ALICE_PW)[0] == 303
            t = alice.csrf("/me")
            s, h, _ = alice.req("POST", "/me/forwarding", {"_csrf": t, "fwd_targets": "bob@example.test, far@remote.test",
                                                         "keep_copy": "on"})
            assert s == 303 and h["location"].startswith("/me?ok=forwarding-saved"), (s, h)
            send(env, ["alice@example.test"], "fwd 1")
            wait_for(lambda: has(env, "bob@example.test", "fwd 1"), what="bob's forwarded copy")
            assert has(env, "alice@example.test", "fwd 1"), "alice kept a copy"
            q = wait_for(lambda: [e for e in queue(env) if e[2] == "far@remote.test"], what="the remote copy queued")
            assert len(q) == 1 and q[0][1].startswith("SRS0=") and q[0][1].endswith("@example.test"), q
            first_id = q[0][0]

            # Without the copy.
            s, _, _ = alice.req("POST", "/me/forwarding", {"_csrf": t, "fwd_targets": "bob@example.test, far@remote.test"})
            assert s == 303
            _, _, page = alice.req("GET", "/me")
            assert "on, no copy kept" in page
            send(env, ["alice@example.test"], "fwd 2")
            wait_for(lambda: has(env, "bob@example.test", "fwd 2"), what="bob's second copy")
            wait_for(lambda: len([e for e in queue(env) if e[2] == "far@remote.test"]) == 2, what="second remote copy")
            assert not has(env, "alice@example.test", "fwd 2"), "no copy kept for alice"

            # One refused recipient, for the rejection counts.
            with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as smtp:
                smtp.ehlo()
                smtp.mail("x@sender.test")
                code, _ = smtp.rcpt("nobody@example.test")
                assert code == 550, code

            # The queue: the worker's real attempt is logged; retry now adds none.
            root = Client(env.port("web"))
            assert root.login("root", ROOT_PW)[0] == 303

            def entry():
                _, _, body = root.req("GET", "/api/queue")
                for e in json.loads(body)["queue"]:
                    if str(e["id"]) == first_id:
                        return e
                return None
            e = wait_for(lambda: (x := entry()) and len(x["attempt_log"]) >= 1 and x, what="the first attempt")
            assert e["attempts"] == 1 and e["attempt_log"][0]["action"] == "deferred", e
            _, _, qpage = root.req("GET", "/queue")
            assert "1 recorded" in qpage and e["attempt_log"][0]["detail"] in html.unescape(qpage)
            s, _, _ = root.req("POST", f"/queue/{first_id}/retry", {"_csrf": root.csrf("/queue")})
            assert s == 303
            e = wait_for(lambda: (x := entry()) and len(x["attempt_log"]) >= 2 and x, what="the retried attempt")
            assert e["attempts"] == len(e["attempt_log"]) == 2, e  # reschedule() would have made it 3

            # /metrics and the dashboard agree on what just happened (refused RCPTs are
            # written by tern-mta's event recorder in batches: wait for it).
            def domain_stats():
                d = json.loads(root.req("GET", "/api/domains/example.test")[2])
                return d if d["last_24h"]["rejected"] >= 1 else None
            d = wait_for(domain_stats, what="the rejection event")
            _, _, metrics = root.req("GET", "/metrics")
            day = d["last_24h"]
            assert day["received"] == 2 and day["delivered"] == 3 and day["rejected"] == 1, day
            for kind in ("received", "delivered", "sent", "rejected", "bounced"):
                assert sample(metrics, f'tern_mail_messages{{kind="{kind}",window="24h"}}') == day[kind], kind
                assert sample(metrics, f'tern_mail_messages{{kind="{kind}",window="7d"}}') == d["last_7d"][kind], kind
            (reason, n), = d["rejected_by_reason_7d"].items()
            assert n == 1 and sample(metrics, f'tern_mail_rejected_7d{{reason="{reason}"}}') == 1, (reason, metrics)
            assert sample(metrics, "tern_queue_messages") == 2
            print(f"  24h: {day}; rejected by reason: {reason}")
    finally:
        dns.stop()
        dns_dir.cleanup()


if __name__ == "__main__":
    run_tests([test_forwarding_queue_and_metrics])
