"""tern-pop3d against a greedy pipelining client (issue 18): RETR x 2000 and LIST/UIDL x
many sent without reading a byte must not grow the daemon (queued output is capped per
session, the daemon waits for the client to read). RSS read from /proc.
Also (issue 17, the shared net layer): an idle POP3S connection waiting for its next
command costs little memory (RSS and PSS slope over 300 connections, under a bound).
Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_pop3_limits.py
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import run_tests  # noqa: E402
from test_pop3 import Pop3Env, Raw, USER, PW  # noqa: E402

BIG = b"Subject: big\r\n\r\n" + b"".join(b"%06d %s\r\n" % (i, b"z" * 90) for i in range(2000))  # ~200 KB


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def login(env):
    r = Raw(env.port("pop3"))
    assert r.cmd("USER " + USER).startswith("+OK")
    assert r.cmd("PASS " + PW).startswith("+OK"), "login"
    return r


def greedy(env, pid, command, count):
    """Sends `count` pipelined commands, never reads; returns the RSS growth in KB."""
    r = login(env)
    r.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    before = rss_kb(pid)
    r.s.sendall((command + "\r\n").encode() * count)
    time.sleep(2.0)
    grown = rss_kb(pid) - before
    r.close()
    return grown


def test_retr_pipelined_without_reading_keeps_rss_flat():
    with Pop3Env() as env:
        env.setup(messages=(BIG,))
        p = env.procs[-1]
        # Warm up: one ordinary RETR, so allocator caches are in the baseline.
        r = login(env)
        r.send("RETR 1")
        assert r.line().startswith("+OK")
        assert len(b"".join(l.encode("latin-1") for l in r.multi())) > 190000
        r.cmd("QUIT")
        r.close()
        grown = greedy(env, p.pid, "RETR 1", 2000)  # 2000 x 200 KB = 400 MB if buffered
        assert grown < 8 * 1024, f"RSS grew by {grown} KB"
        # Still serving, and the session that was cut off deleted nothing.
        r = login(env)
        assert r.cmd("STAT").startswith("+OK 1 ")
        r.cmd("QUIT")
        r.close()


def test_list_uidl_pipelined_without_reading_keeps_rss_flat():
    with Pop3Env() as env:
        env.setup(messages=())
        # 300 messages: each LIST/UIDL answer is ~4 KB; 6000 of them would be ~24 MB.
        procs = [subprocess.Popen([env.bin("tern-deliver"), "--config", env.config_path, USER],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
                 for _ in range(300)]
        for i, q in enumerate(procs):
            q.communicate(b"Subject: m%d\r\n\r\nx\r\n" % i, timeout=60)
            assert q.returncode == 0
        p = env.procs[-1]
        grown = greedy(env, p.pid, "UIDL", 6000)
        assert grown < 8 * 1024, f"RSS grew by {grown} KB (UIDL)"
        grown = greedy(env, p.pid, "LIST", 6000)
        assert grown < 8 * 1024, f"RSS grew by {grown} KB (LIST)"
        # Pipelining still answers every command, in order.
        r = login(env)
        r.s.sendall(b"LIST\r\nUIDL\r\nSTAT\r\n")
        assert r.line().startswith("+OK 300 messages")
        assert len(r.multi()) == 300
        assert r.line().startswith("+OK")
        assert len(r.multi()) == 300
        assert r.line().startswith("+OK 300 ")
        r.close()


# KiB of RSS and of PSS per idle POP3S connection (TLS done, CAPA answered, waiting for
# the next command). The issue measured ~96 KiB when Asio's TLS stream held its record
# buffers; 19.4-21.3 KiB on 2026-12-01 (loaded machine). Any 16 KiB buffer held while
# idle (a read buffer, an OpenSSL record buffer) takes it past the bound.
POP3S_IDLE_KIB_BOUND = 24


def pss_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise AssertionError("no Pss")


def private_kb(pid):
    # Anonymous memory (RssAnon): what connections allocate. Neither a PSS delta nor
    # Private_Clean/Dirty is: both move when other processes that map the daemon's
    # library pages start or exit (a parallel ctest run), so PSS is printed, not asserted.
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


def test_idle_pop3s_connections_cost_little_memory():
    import resource
    n = int(os.environ.get("TERN_IDLE_POP3S", "300"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with Pop3Env(limits=f"connections = {n + 100}\nconnections_per_ip = {n + 100}") as env:
        env.setup()
        pid = env.procs[-1].pid
        port = env.port("pop3s")

        def idle():
            r = Raw(port, tls=True)
            assert r.greeting.startswith("+OK"), r.greeting
            assert r.cmd("CAPA").startswith("+OK")
            r.multi()
            return r
        warm = [idle() for _ in range(20)]  # arenas, TLS context, caches
        time.sleep(1)
        rss0, pss0, priv0 = rss_kb(pid), pss_kb(pid), private_kb(pid)
        conns = [idle() for _ in range(n)]
        time.sleep(1)
        rss1, pss1, priv1 = rss_kb(pid), pss_kb(pid), private_kb(pid)
        per_rss, per_pss, per_priv = (rss1 - rss0) / n, (pss1 - pss0) / n, (priv1 - priv0) / n
        print(f"  {n} idle POP3S connections: RSS {rss0} -> {rss1} KiB ({per_rss:.1f} KiB each), "
              f"anon {priv0} -> {priv1} KiB ({per_priv:.1f} KiB each), "
              f"PSS {pss0} -> {pss1} KiB ({per_pss:.1f} KiB each, not asserted); bound {POP3S_IDLE_KIB_BOUND} KiB")
        assert per_rss < POP3S_IDLE_KIB_BOUND, per_rss
        assert per_priv < POP3S_IDLE_KIB_BOUND, per_priv
        # They still work: the last one logs in and quits.
        r = conns[-1]
        assert r.cmd("USER " + USER).startswith("+OK")
        assert r.cmd("PASS " + PW).startswith("+OK")
        assert r.cmd("QUIT").startswith("+OK")
        for c in warm + conns:
            c.close()


if __name__ == "__main__":
    run_tests([
        test_retr_pipelined_without_reading_keeps_rss_flat,
        test_list_uidl_pipelined_without_reading_keeps_rss_flat,
        test_idle_pop3s_connections_cost_little_memory,
    ])
