"""The outbound queue's result commits are duplicate-safe (Store::update_queue, store.hpp):
they sync the data pages but not LMDB's meta page (MDB_NOMETASYNC), while every commit
that acknowledges mail still syncs both. Counted with build/bin/sync_shim.so
(tests/tools/sync_shim.c) preloaded into tern-mta: fdatasync(2) calls, and pwrite(2)s to
LMDB's O_DSYNC descriptor (the synced meta-page writes).

1. 12 messages are submitted while the peer answers 421 (each is tried once and
   deferred): those commits acknowledge mail, so every one wrote its meta page synced.
2. The peer accepts, the queue is flushed: the result commits (the entries removed
   after the peer's 250) call fdatasync, and write no synced meta page at all.
3. Nothing is lost or left: every message arrived once, the queue is empty, and a
   process that opens the store afterwards sees it so.
"""
import os
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402
from outboundlib import PySmtpPeer, TestDns, wait_for  # noqa: E402

BIN = os.environ.get("TERN_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin")
SHIM = os.path.join(BIN, "sync_shim.so")
PW = "secret-pw-1"
ZONES = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n"}
N = 12


def counters(env):
    """(fdatasync calls, synced meta-page writes) of tern-mta so far."""
    def read(name, field):
        try:
            with open(os.path.join(env.dir, name)) as f:
                return int(f.read().split()[field])
        except FileNotFoundError:
            return 0
    return read("syncs", 1), read("dsync_writes", 0)


def log_count(env, needle):
    with open(os.path.join(env.dir, "tern-mta.log"), "rb") as f:
        return f.read().count(needle)


def queue_len(env):
    out = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                         capture_output=True, timeout=30).stdout.decode()
    return len([line for line in out.splitlines() if line.startswith("=== id=")])


def test_result_commits_skip_the_meta_sync_and_deliveries_do_not():
    assert os.path.exists(SHIM), f"{SHIM} missing (build the tern_sync_shim target)"
    with TestDns(ZONES) as dns, PySmtpPeer(pipelining=True) as peer:
        peer.hold = True  # 421 until everything is queued
        with TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {peer.port}
retry_min = "1h"
connections_per_destination = 2
""") as env:
            env.ctl("domain", "add", "example.test")
            env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
            env.start("tern-mta", extra_env={"LD_PRELOAD": SHIM,
                                             "TERN_SYNC_COUNT": os.path.join(env.dir, "syncs"),
                                             "TERN_SYNC_DSYNC_COUNT": os.path.join(env.dir, "dsync_writes")})
            with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=30) as s:
                s.starttls(context=client_tls_context())
                s.login("a@example.test", PW)
                for i in range(N):
                    s.sendmail("a@example.test", ["x@remote.test"],
                               (f"From: a@example.test\r\nTo: x@remote.test\r\nSubject: sync-{i}\r\n\r\n"
                                f"message {i}\r\n").encode())
            wait_for(lambda: log_count(env, b"status=deferred") >= N, timeout=60, what="first attempts")
            time.sleep(0.5)
            f1, m1 = counters(env)
            # Phase 1: each accepted message was committed with a synced meta page.
            assert f1 >= 1 and m1 >= 1, (f1, m1)

            peer.hold = False
            env.ctl("queue", "flush")
            wait_for(lambda: log_count(env, b"status=sent") >= N, timeout=60, what="delivery")
            wait_for(lambda: queue_len(env) == 0, timeout=30, what="an empty queue")
            time.sleep(0.5)
            f2, m2 = counters(env)
            print(f"  accepting {N}: {f1} fdatasync, {m1} synced meta writes; "
                  f"sending them: {f2 - f1} fdatasync, {m2 - m1} synced meta writes", flush=True)
            assert f2 - f1 >= 1, "the result commits did not sync their data pages"
            assert m2 - m1 == 0, f"{m2 - m1} result commits waited for the meta-page sync"

            subjects = sorted(m["data"].split(b"Subject: ")[1].split(b"\r\n")[0].decode() for m in peer.messages)
            assert subjects == sorted(f"sync-{i}" for i in range(N)), subjects
            assert queue_len(env) == 0  # another process (tern-store-dump) sees the commits


if __name__ == "__main__":
    run_tests([test_result_commits_skip_the_meta_sync_and_deliveries_do_not])
