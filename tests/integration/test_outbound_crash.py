"""kill -9 of tern-mta while it sends its queue: nothing queued is lost, and a message
arrives twice only when the kill fell between the peer's 250 and tern's dequeue commit
(the one-commit window the design allows).

1. Exact points, against a scripted peer (outboundlib.PySmtpPeer) that kills tern-mta
   itself at a chosen moment of a chosen DATA transaction, then drops the connection:
     "data"       -- the DATA command arrived, 354 not sent (nothing transferred);
     "before_250" -- the whole body arrived, the peer had not accepted it (no 250);
     "after_250"  -- the peer's 250 is written: the message is the peer's now, and
                     tern has (almost certainly) not committed the dequeue yet.
   tern-mta is restarted after every kill. At the end every message is at the peer;
   only the "after_250" victims may be there twice (and at most twice), and the
   message accepted just before a "data" kill: tern starts the next transaction
   while the previous dequeue commit runs (its end waits for that commit), so a
   kill at the next DATA still falls within the previous message's one-commit
   window. A "before_250" kill never duplicates: that body's end was sent only
   after the previous commit.
2. Random moments, against a real Postfix (2 connections): every message arrives,
   duplicates <= 2 per kill (one in-flight message per connection).
Counts are printed.
"""
import os
import random
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402
from outboundlib import PostfixPeer, PySmtpPeer, TestDns, wait_for  # noqa: E402

PW = "secret-pw-1"
ZONES = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n"}
SUBJECT_RE = re.compile(rb"^Subject: (crash-\d+)\r?$", re.M)


def make_env(dns, port, per_destination):
    env = TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {port}
retry_min = "1s"
retry_max = "1s"
connections_per_destination = {per_destination}
""")
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
    return env


def submit_all(env, n):
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=30) as s:
        s.starttls(context=client_tls_context())
        s.login("a@example.test", PW)
        for i in range(n):
            msg = (f"From: a@example.test\r\nTo: x@remote.test\r\nSubject: crash-{i}\r\n"
                   f"Message-ID: <crash-{i}@example.test>\r\n\r\nmessage {i}\r\n"
                   + f"line of filler text for message {i}\r\n" * 30)
            s.sendmail("a@example.test", ["x@remote.test"], msg.encode())


def queue_len(env):
    out = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                         capture_output=True, timeout=30).stdout.decode()
    return len([line for line in out.splitlines() if line.startswith("=== id=")])


def counts(bodies):
    c = {}
    for b in bodies:
        m = SUBJECT_RE.search(b)
        assert m, b[:300]
        c[m.group(1).decode()] = c.get(m.group(1).decode(), 0) + 1
    return c


def kill_mta(env):
    p = env.procs[-1]
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def test_kill_at_exact_points_against_a_scripted_peer():
    n = 24
    # DATA transaction ordinal at the peer (retries count) -> where tern-mta dies.
    plan = {3: "data", 6: "before_250", 9: "after_250", 12: "data", 15: "after_250",
            18: "before_250", 21: "after_250"}
    state = {"data": 0, "kills": [], "victims": []}
    lock = threading.Lock()
    restart = threading.Event()
    env_box = {}

    def hook(point, info):
        with lock:
            if point == "data":
                state["data"] += 1
            k = state["data"]
            if plan.get(k) != point or any(x[0] == k for x in state["kills"]):
                return None
            kill_mta(env_box["env"])
            subject = None
            if point != "data":
                m = SUBJECT_RE.search(info["data"])
                subject = m.group(1).decode() if m else None
            state["kills"].append((k, point, subject))
            if point == "after_250":
                state["victims"].append(subject)
            elif point == "data" and peer.messages:
                # The previous message's commit may still be running (see above).
                m = SUBJECT_RE.search(peer.messages[-1]["data"])
                state["victims"].append(m.group(1).decode())
        restart.set()
        return "drop"

    with TestDns(ZONES) as dns, PySmtpPeer(hook=hook) as peer:
        peer.hold = True  # 421 until everything is queued
        with make_env(dns, peer.port, 1) as env:
            env_box["env"] = env
            env.start("tern-mta")
            submit_all(env, n)
            assert queue_len(env) == n
            peer.hold = False
            deadline = time.time() + 180
            while time.time() < deadline:
                if restart.wait(0.2):
                    restart.clear()
                    try:
                        env.start("tern-mta")
                    except RuntimeError:
                        pass  # the next point killed it before its ports were up: restart again
                got = counts([m["data"] for m in peer.messages])
                if len(got) == n and queue_len(env) == 0 and len(state["kills"]) == len(plan):
                    break
            time.sleep(2)  # nothing more may arrive
            got = counts([m["data"] for m in peer.messages])
            dups = {s: c for s, c in got.items() if c > 1}
            print(f"scripted peer: {n} messages, kills at {[(k, p) for k, p, _ in state['kills']]}, "
                  f"{len(peer.messages)} deliveries, {len(got)} distinct, duplicates {dups}, "
                  f"victims (after_250, and before a data kill) {state['victims']}")
            assert len(state["kills"]) == len(plan), state["kills"]
            assert sorted(got) == sorted(f"crash-{i}" for i in range(n)), sorted(got)
            for s, c in dups.items():
                assert s in state["victims"] and c == 2, (s, c, state["victims"])
            assert queue_len(env) == 0
            # At most one duplicate per kill, and only of its victim; "before_250" kills
            # have none.
            assert len(peer.messages) - n == len(dups) <= len(state["victims"])
            # Every delivery was over a fresh, complete transaction.
            assert not peer.violations, peer.violations


def test_kill_at_random_moments_against_postfix():
    n, kills = 60, 5
    rng = random.Random(14)
    with TestDns(ZONES) as dns, PostfixPeer(users=["x@remote.test"]) as pf, \
            make_env(dns, pf.port, 2) as env:
        pf.stop()  # queue everything first
        env.start("tern-mta")
        submit_all(env, n)
        assert queue_len(env) == n
        pf.start()
        done_kills = 0
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 1.0))
            if queue_len(env) == 0:
                break
            kill_mta(env)
            done_kills += 1
            env.start("tern-mta")
        wait_for(lambda: queue_len(env) == 0, timeout=180, what="empty queue")
        got = wait_for(lambda: (lambda c: c if len(c) == n else None)(
            counts(pf.maildir_messages("x@remote.test"))), timeout=60, what="all messages at Postfix")
        time.sleep(2)
        got = counts(pf.maildir_messages("x@remote.test"))
        dups = sum(c - 1 for c in got.values())
        print(f"postfix: {n} messages, {done_kills} kills during delivery, "
              f"{sum(got.values())} delivered, {len(got)} distinct, {dups} duplicates")
        assert len(got) == n
        assert all(c <= 2 for c in got.values()), got
        assert dups <= 2 * done_kills, (dups, done_kills)


if __name__ == "__main__":
    run_tests([test_kill_at_exact_points_against_a_scripted_peer,
               test_kill_at_random_moments_against_postfix])
