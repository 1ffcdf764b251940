"""Refusal events of tern-mta (issue 18): they are batched into few commits on a writer
thread of their own, capped per client IP (the rest counted in one summary event), and
a writer stuck in fsync never delays RCPT lookups.

The store's syncs are counted, and stalled on demand, by build/bin/sync_shim.so
(tests/tools/sync_shim.c) preloaded into tern-mta: LMDB commits with fdatasync(2), so its
count is the number of commits.
  (a) 200 sessions x 19 unknown RCPTs: at most a handful of syncs, bounded store growth,
      100 events stored for 127.0.0.1 and one summary counting the other 3700; with the
      cap off ([store] events_per_ip = 0) every event is stored, still in few commits.
  (b) while an event commit sleeps in fdatasync (4 s per call), RCPT lookups of a new
      session answer in well under a second; the events land once the disk is back."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests, BIN  # noqa: E402

SHIM = os.path.join(BIN, "sync_shim.so")
SESSIONS, RCPTS = 200, 19


def new_env(store_lines=""):
    e = TernEnv(listeners=["smtp"], limits="connections_per_ip = 250",
                extra_config=("[store]\n" + store_lines + "\n") if store_lines else "")
    e.ctl("domain", "add", "example.test")
    e.ctl("user", "add", "bob@example.test", "--password-stdin", input="pw-bob-1234\n")
    return e


def shim_env(e, **extra):
    env = {"LD_PRELOAD": SHIM, "TERN_SYNC_COUNT": os.path.join(e.dir, "syncs")}
    env.update(extra)
    return env


def syncs(e):
    """(fsync, fdatasync, msync) so far."""
    try:
        with open(os.path.join(e.dir, "syncs")) as f:
            return tuple(int(x) for x in f.read().split())
    except FileNotFoundError:
        return (0, 0, 0)


def store_size(e):
    return os.path.getsize(os.path.join(e.data_dir, "store", "data.mdb"))


def events(e):
    return subprocess.run([e.bin("tern-store-dump"), "--data-dir", e.data_dir, "--events"],
                          capture_output=True, timeout=60, text=True, check=True).stdout.splitlines()


def read_reply(f):
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        if line[3:4] == b" ":
            return line


def session(port, n, first=0, tag="x"):
    """One session refusing n unknown recipients (pipelined), then QUIT."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")
    assert read_reply(f).startswith(b"220")
    cmds = [b"EHLO load.example", f"MAIL FROM:<{tag}@remote.example>".encode()]
    cmds += [f"RCPT TO:<nobody{first + i}@example.test>".encode() for i in range(n)]
    cmds.append(b"QUIT")
    s.sendall(b"\r\n".join(cmds) + b"\r\n")
    assert read_reply(f).startswith(b"250")  # EHLO
    assert read_reply(f).startswith(b"250")  # MAIL
    for _ in range(n):
        r = read_reply(f)
        assert r.startswith(b"550"), r
    assert read_reply(f).startswith(b"221")
    s.close()


def load(port, sessions=SESSIONS, rcpts=RCPTS, workers=20):
    errors, lock = [], threading.Lock()
    todo = list(range(sessions))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            try:
                session(port, rcpts, first=i * rcpts)
            except Exception as ex:  # noqa: BLE001
                with lock:
                    errors.append(repr(ex))

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    return time.monotonic() - t0


def run_load(store_lines):
    e = new_env(store_lines)
    try:
        p = e.start("tern-mta", extra_env=shim_env(e))
        time.sleep(0.5)
        before, size0 = syncs(e), store_size(e)
        took = load(e.port("smtp"))
        time.sleep(2.5)  # > events_flush: the last batch is committed
        during = syncs(e)
        e.stop(p)  # SIGTERM: the recorder writes what is left (the summary)
        after, size1 = syncs(e), store_size(e)
        n_during = sum(during) - sum(before)
        n_total = sum(after) - sum(before)
        print(f"  [store] {store_lines or '(defaults)'}: {SESSIONS}x{RCPTS} refusals in {took:.2f}s: "
              f"{n_during} syncs during the load (+{n_total - n_during} at shutdown), "
              f"store {size0} -> {size1} bytes (+{size1 - size0})", flush=True)
        return e, n_during, n_total, size1 - size0, took
    except Exception:
        e.__exit__(None, None, None)
        raise


def test_load_makes_few_commits_and_caps_per_ip():
    e, n_during, n_total, growth, _ = run_load("")
    try:
        assert n_total <= 5, n_total
        assert growth <= 256 * 1024, growth
        ev = events(e)
        refused = [l for l in ev if l.startswith("rejected <x@remote.example> <nobody")]
        summary = [l for l in ev if "more refusals from 127.0.0.1 not stored" in l]
        assert len(refused) == 100, len(refused)
        assert len(summary) == 1, summary
        assert f"{SESSIONS * RCPTS - 100} more refusals" in summary[0], summary
        assert "unknown-user" in refused[0], refused[0]
        log = e.log("tern-mta")
        assert log.count("reject RCPT") == SESSIONS * RCPTS  # every refusal is still logged
    finally:
        e.__exit__(None, None, None)


def test_uncapped_events_are_all_stored_in_few_commits():
    e, n_during, n_total, growth, took = run_load("events_per_ip = 0")
    try:
        # One commit per events_flush (1 s) at most while the load runs, plus the end.
        assert n_total <= int(took) + 4, (n_total, took)
        ev = events(e)
        refused = [l for l in ev if l.startswith("rejected <x@remote.example> <nobody")]
        assert len(refused) == SESSIONS * RCPTS, len(refused)
        assert not [l for l in ev if "more refusals" in l]
    finally:
        e.__exit__(None, None, None)


def timed_rcpt(port, rcpt):
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")
    assert read_reply(f).startswith(b"220")
    s.sendall(b"EHLO probe.example\r\n")
    assert read_reply(f).startswith(b"250")
    s.sendall(b"MAIL FROM:<probe@remote.example>\r\n")
    assert read_reply(f).startswith(b"250")
    t0 = time.monotonic()
    s.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
    r = read_reply(f)
    took = time.monotonic() - t0
    s.sendall(b"QUIT\r\n")
    read_reply(f)
    s.close()
    return r, took


def test_lookups_stay_fast_while_a_commit_is_stuck_in_fsync():
    e = new_env()
    flag = os.path.join(e.dir, "stall")
    stall_log = os.path.join(e.dir, "stalls")
    try:
        e.start("tern-mta", extra_env=shim_env(e, TERN_SYNC_STALL=flag, TERN_SYNC_STALL_MS="4000",
                                                TERN_SYNC_STALL_LOG=stall_log))
        port = e.port("smtp")
        open(flag, "w").close()
        # Refusals from a dozen sessions (more than the blocking pool has threads): their
        # events are what the stuck writer is committing.
        ts = [threading.Thread(target=session, args=(port, 1, 1000 + i, f"s{i}")) for i in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        deadline = time.monotonic() + 15
        while not os.path.exists(stall_log) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(stall_log), "no commit reached fdatasync"
        times = []
        for rcpt, want in (("bob@example.test", b"250"), ("nobody@example.test", b"550"),
                           ("bob@example.test", b"250")):
            r, took = timed_rcpt(port, rcpt)
            assert r.startswith(want), r
            times.append(took)
        stuck_now = os.path.exists(flag)
        print(f"  RCPT lookups while a commit sleeps 4 s in fdatasync: "
              f"{', '.join(f'{t * 1000:.1f} ms' for t in times)}", flush=True)
        assert stuck_now
        assert max(times) < 1.0, times
        os.unlink(flag)
        # The disk is back: every refusal lands (the stuck batch, then the rest).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ev = events(e)
            got = sum(1 for l in ev if "<nobody10" in l) + sum(1 for l in ev if "<nobody@example.test>" in l)
            if got >= 13:
                break
            time.sleep(0.5)
        assert got >= 13, ev
    finally:
        e.__exit__(None, None, None)


if __name__ == "__main__":
    assert os.path.exists(SHIM), f"{SHIM} missing (build the tern_sync_shim target)"
    run_tests([test_load_makes_few_commits_and_caps_per_ip, test_uncapped_events_are_all_stored_in_few_commits,
               test_lookups_stay_fast_while_a_commit_is_stuck_in_fsync])
