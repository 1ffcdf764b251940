"""tern-imapd's store plumbing, measured from outside the process (issue 17, "What the
store and common/ need first"):

- IDLE waits on the process's one change notifier: 1,000 IDLE sessions hold ONE
  inotify instance (counted in /proc/PID/fd), cost no CPU while nothing changes (no
  polling), and an SMTP delivery by tern-mta (another process) reaches every one of
  them as "* N EXISTS" within 1 s; SIGTERM wakes them with BYE at once.
- Partial FETCH reads only its range: BODY[]<0.100>, BINARY[]<0.100>, BODY[TEXT]<0.100>
  and HEADER.FIELDS of a 20 MiB message are fast and tern-imapd's private memory
  (RssAnon, sampled every 2 ms: VmRSS also counts the LMDB map's file pages) grows by far
  less than the message; a whole BODY[] is streamed in pieces, never held whole.
- The parsed structure is cached per body in the store: the disconnect log line counts
  whole-message parses, cache hits and cache writes; after a restart nothing is parsed.
- An idle TLS IMAP session in IDLE costs little memory: RSS growth per connection for N
  sessions, under a stated bound.

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_perf.py
"""
import imaplib
import os
import re
import resource
import select
import signal
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests, wait_until  # noqa: E402

USER = "perf@example.test"
PW = "perf password 1"

# The bound the TLS idle test enforces (KiB of RSS and of anonymous memory per idle TLS
# session in IDLE). The goal is 10,000 sessions in 200 MB for the whole daemon
# (about 13 MiB of it at start): under 18 KiB each. Measured 17.2 KiB on 2026-12-01
# since sessions park (Connection::park: no coroutine frame while the client is quiet);
# 21.4 before, 28.3 before the net layer stopped spawning a coroutine per side of its
# waits (bench/RESULTS.md). The bound fails on either regression.
IDLE_TLS_KIB_BOUND = 19.5
# The same for a session that waits for its next command (logged in, INBOX selected):
# it parks too. Measured on 2026-12-01: TLS 17.0 / plaintext 2.7-2.9 KiB parked, 20.1 /
# 6.0 KiB before (a chain of coroutine frames of ~3-4 KiB per session).
WAITING_TLS_KIB_BOUND = 19
WAITING_PLAIN_KIB_BOUND = 4.5

MIME_MSGS = [
    b"From: Ann <ann@example.net>\r\nTo: perf@example.test\r\nSubject: alpha\r\n"
    b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <a@example.net>\r\n"
    b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\n"
    b"hello\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAECAwQF\r\n--xx--\r\n",
    b"From: bob@example.net\r\nSubject: beta\r\nDate: Wed, 02 Dec 2026 08:00:00 +0000\r\n\r\nplain body\r\n",
    b"From: carl@example.net\r\nSubject: =?utf-8?q?gamma_=C3=A9?=\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: inner@example.net\r\nSubject: inner\r\n\r\ninner body\r\n",
]


def sha512_crypt(pw):
    p = subprocess.run(["openssl", "passwd", "-6", "-salt", "ternperfsalt01", pw],
                       capture_output=True, text=True, check=True)
    return p.stdout.strip()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    raise KeyError(key)


class AnonPeak:
    """Samples RssAnon (heap and other private memory; not the LMDB map's file pages,
    which VmRSS/VmHWM also count) every 2 ms while a block runs; .peak is the highest
    growth over the value at the start, in KiB."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        import threading
        self.base = proc_status(self.pid, "RssAnon")
        self.peak = 0
        self.stop = False

        def run():
            while not self.stop:
                self.peak = max(self.peak, proc_status(self.pid, "RssAnon") - self.base)
                time.sleep(0.002)
        self.t = threading.Thread(target=run, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()
        self.peak = max(self.peak, proc_status(self.pid, "RssAnon") - self.base)


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    # Anonymous memory (RssAnon): what sessions allocate. Neither a PSS delta nor
    # Private_Clean/Dirty is: both move when other processes that map tern-imapd's
    # library pages start or exit (a parallel ctest run measured 27.7 KiB of PSS and
    # 26.8 of "private" per session against 21.4 and 16.9 of RSS), so PSS is printed, not
    # asserted.
    return proc_status(pid, "RssAnon")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def inotify_fds(pid):
    """Descriptors of the process that are inotify instances (anon_inode:inotify, whose
    /proc/PID/fdinfo entry lists the watches as "inotify wd:")."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                n += 1
        except OSError:
            pass
    return n


class PerfEnv(TernEnv):
    def __init__(self, listeners=("imap",), limits=""):
        super().__init__(listeners=list(listeners), limits=limits,
                         sections={"imap": "allow_plaintext_auth = true"})

    def setup(self, messages=()):
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", USER, "--password-hash", sha512_crypt(PW))
        for m in messages:
            self.deliver(m)
        self.imapd = self.start("tern-imapd")
        return self

    def deliver(self, body):
        p = subprocess.run([self.bin("tern-deliver"), "--config", self.config_path, USER],
                           input=body, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr

    def restart_imapd(self):
        self.stop(self.imapd)
        self.procs.remove(self.imapd)
        self.imapd = self.start("tern-imapd")


def read_until(s, marker, buf=b"", timeout=30):
    deadline = time.time() + timeout
    while marker not in buf:
        if time.time() > deadline:
            raise TimeoutError(f"no {marker!r} in {buf[-300:]!r}")
        d = s.recv(1 << 20)
        if not d:
            raise EOFError(f"closed before {marker!r}: {buf[-300:]!r}")
        buf += d
    return buf


def idle_session(port, tls=False):
    """A session logged in, INBOX selected, in IDLE (commands pipelined)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls:
        s = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
    s.sendall(f'a LOGIN {USER} "{PW}"\r\nb SELECT INBOX\r\nc IDLE\r\n'.encode())
    buf = read_until(s, b"\r\n+ ")
    assert b"\r\na OK" in buf and b"\r\nb OK" in buf, buf
    return s


def fetch_literal(s, tag, what):
    """Sends `tag UID FETCH 1 (what)`; returns (literal bytes, seconds)."""
    t0 = time.time()
    s.sendall(f"{tag} UID FETCH 1 ({what})\r\n".encode())
    buf = read_until(s, b"}\r\n")
    m = re.search(rb"\{(\d+)\}\r\n", buf)
    assert m, buf[:200]
    n = int(m.group(1))
    start = m.end()
    while len(buf) < start + n:
        d = s.recv(1 << 20)
        assert d
        buf += d
    buf = read_until(s, f"\r\n{tag} OK".encode(), buf)
    return buf[start:start + n], time.time() - t0


# ---------------------------------------------------------------------------------

def test_idle_sessions_share_one_inotify_and_see_smtp_delivery():
    n = int(os.environ.get("TERN_IDLE_SESSIONS", "1000"))
    raise_nofile()
    with PerfEnv(listeners=("imap", "smtp"),
                 limits=f"connections = {n + 100}\nconnections_per_ip = {n + 100}") as env:
        env.setup(messages=[MIME_MSGS[1]])
        env.start("tern-mta")
        pid = env.imapd.pid
        assert inotify_fds(pid) == 1  # the one watcher, made at start
        sessions = []
        t0 = time.time()
        for _ in range(n):
            sessions.append(idle_session(env.port("imap")))
        setup_s = time.time() - t0
        inotify = inotify_fds(pid)
        assert inotify == 1, f"{inotify} inotify instances for {n} IDLE sessions"
        # Nothing changes: the idling daemon does not run (no polling).
        time.sleep(0.5)
        c0 = cpu_seconds(pid)
        time.sleep(3)
        idle_cpu = cpu_seconds(pid) - c0
        assert idle_cpu < 0.1, f"{idle_cpu:.3f}s of CPU in 3 s with {n} sessions idling: polling?"
        # A delivery by tern-mta (another process) over SMTP.
        msg = b"From: s@example.net\r\nTo: perf@example.test\r\nSubject: pushed\r\n\r\nnow\r\n"
        t_send = time.time()
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as smtp:
            smtp.sendmail("s@example.net", [USER], msg)
            t_250 = time.time()
        pending = {s.fileno(): [s, b""] for s in sessions}
        poller = select.poll()  # select() stops at descriptor 1023
        for fd in pending:
            poller.register(fd, select.POLLIN)
        latency = []
        deadline = time.time() + 10
        while pending and time.time() < deadline:
            for fd, _ in poller.poll(500):
                if fd not in pending:
                    continue
                entry = pending[fd]
                d = entry[0].recv(65536)
                assert d, "session closed"
                entry[1] += d
                if b"* 2 EXISTS\r\n" in entry[1]:
                    latency.append(time.time() - t_250)
                    del pending[fd]
                    poller.unregister(fd)
        assert not pending, f"{len(pending)} of {n} sessions saw no EXISTS within 10 s"
        latency.sort()
        median, worst = latency[len(latency) // 2], latency[-1]
        print(f"  {n} IDLE sessions (set up in {setup_s:.1f}s): inotify instances={inotify}, "
              f"idle CPU={idle_cpu * 1000:.0f} ms/3 s; SMTP 250 after {t_250 - t_send:.3f}s, "
              f"EXISTS after the 250: median {median * 1000:.0f} ms, slowest {worst * 1000:.0f} ms")
        assert worst < 1.0, f"slowest IDLE session saw the delivery after {worst:.3f}s"
        # DONE on one session still works after the push.
        s0 = sessions[0]
        s0.sendall(b"DONE\r\n")
        read_until(s0, b"c OK")
        # SIGTERM: the notifier is stopped and every idler gets BYE at once.
        t_term = time.time()
        os.killpg(env.imapd.pid, signal.SIGTERM)
        byes = 0
        for s in sessions[1:50]:
            try:
                read_until(s, b"* BYE", timeout=5)
                byes += 1
            except (TimeoutError, EOFError, OSError):
                pass
        bye_s = time.time() - t_term
        assert byes == 49, f"{byes} of 49 idlers got BYE"
        assert bye_s < 3, bye_s
        assert env.imapd.wait(timeout=20) == 0
        for s in sessions:
            s.close()


def test_partial_fetch_reads_only_the_range():
    size = 20 << 20
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-+_=\r\n"
    big = b"From: a@example.net\r\nSubject: twenty\r\n\r\n" + line * (size // len(line))
    with PerfEnv(listeners=("imap",)) as env:
        env.setup(messages=[big])
        stored = env.mailbox(USER)[1]
        body_at = stored.index(b"\r\n\r\n") + 4
        pid = env.imapd.pid
        s = socket.create_connection(("127.0.0.1", env.port("imap")), timeout=60)
        s.sendall(f'a LOGIN {USER} "{PW}"\r\nb SELECT INBOX\r\n'.encode())
        read_until(s, b"\r\nb OK")
        cases = [
            ("BODY.PEEK[]<0.100>", stored[:100]),
            ("BINARY.PEEK[]<0.100>", stored[:100]),
            ("BODY.PEEK[TEXT]<0.100>", stored[body_at:body_at + 100]),
            ("BODY.PEEK[]<10485760.100>", stored[10485760:10485860]),
            ("BODY.PEEK[HEADER.FIELDS (SUBJECT)]", b"Subject: twenty\r\n\r\n"),
        ]
        times = []
        with AnonPeak(pid) as anon:
            for i, (what, want) in enumerate(cases):
                got, dt = fetch_literal(s, f"p{i}", what)
                assert got == want, (what, got[:120])
                times.append(dt)
        print(f"  {len(stored) >> 20} MiB message: partial FETCHes took "
              + ", ".join(f"{t * 1000:.1f}" for t in times)
              + f" ms; tern-imapd's private memory (RssAnon) peaked {anon.peak} KiB above its start")
        assert max(times) < 1.0, times
        assert anon.peak < 4096, f"RssAnon grew {anon.peak} KiB for partial fetches of a {len(stored)} octet message"
        # The whole body goes out in pieces: the daemon never holds it whole.
        with AnonPeak(pid) as anon:
            got, dt = fetch_literal(s, "w", "BODY.PEEK[]")
        assert got == stored
        print(f"  whole BODY[] ({len(stored)} octets) in {dt:.2f}s; RssAnon peaked {anon.peak} KiB above its start")
        assert anon.peak < 8192, anon.peak
        s.close()


def disconnect_counts(log):
    """(parses, cache_hits, cached) of each IMAP session of USER, in log order."""
    return [tuple(int(x) for x in m.groups()) for m in re.finditer(
        r"imap disconnect user=" + re.escape(USER) +
        r" .*?mime_parses=(\d+) mime_cache_hits=(\d+) mime_cached=(\d+)", log)]


def test_structure_cache_per_body():
    with PerfEnv(listeners=("imap",)) as env:
        env.setup(messages=MIME_MSGS)
        m = imaplib.IMAP4("127.0.0.1", env.port("imap"), timeout=30)
        m.login(USER, PW)
        m.select("INBOX")
        typ, first = m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        assert typ == "OK"
        typ, again = m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE BODY)")
        assert typ == "OK"
        typ, hits = m.search(None, "HEADER", "Subject", "beta")
        assert typ == "OK" and hits[0].split() == [b"2"], hits
        typ, srt = m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
        assert typ == "OK", srt
        m.logout()
        # The disconnect line follows the BYE; under load it can take a moment.
        wait_until(lambda: len(disconnect_counts(env.log("tern-imapd"))) == 1, 10,
                   "the session's disconnect line")
        counts = disconnect_counts(env.log("tern-imapd"))
        parses, hits1, cached = counts[-1]
        # Each body parsed once (first FETCH), written once, then read from the cache.
        assert parses == 3 and cached == 3, counts
        assert hits1 >= 6, counts
        # After a restart the structures come from the store: nothing is parsed.
        env.restart_imapd()
        m = imaplib.IMAP4("127.0.0.1", env.port("imap"), timeout=30)
        m.login(USER, PW)
        m.select("INBOX")
        typ, after = m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        assert typ == "OK" and after == first, (after, first)
        typ, hits = m.search(None, "HEADER", "Subject", "beta")
        assert typ == "OK" and hits[0].split() == [b"2"], hits
        typ, _ = m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
        assert typ == "OK"
        m.logout()
        wait_until(lambda: len(disconnect_counts(env.log("tern-imapd"))) == 2, 10,
                   "the second session's disconnect line")
        counts = disconnect_counts(env.log("tern-imapd"))
        parses2, hits2, cached2 = counts[-1]
        print(f"  first session: parses={parses} cache_hits={hits1} written={cached}; "
              f"after restart: parses={parses2} cache_hits={hits2} written={cached2}")
        assert parses2 == 0 and cached2 == 0 and hits2 >= 6, counts


def test_idle_tls_memory_per_connection():
    n = int(os.environ.get("TERN_IDLE_TLS_SESSIONS", "300"))
    raise_nofile()
    with PerfEnv(listeners=("imaps",),
                 limits=f"connections = {n + 100}\nconnections_per_ip = {n + 100}") as env:
        env.setup(messages=MIME_MSGS)
        pid = env.imapd.pid
        port = env.port("imaps")
        warm = [idle_session(port, tls=True) for _ in range(20)]  # arenas, TLS context, caches
        time.sleep(1)
        rss0, pss0, priv0 = proc_status(pid, "VmRSS"), pss_kib(pid), private_kib(pid)
        conns = [idle_session(port, tls=True) for _ in range(n)]
        time.sleep(1)
        rss1, pss1, priv1 = proc_status(pid, "VmRSS"), pss_kib(pid), private_kib(pid)
        per_rss = (rss1 - rss0) / n
        per_pss = (pss1 - pss0) / n
        per_priv = (priv1 - priv0) / n
        print(f"  {n} idle TLS IMAP sessions in IDLE: RSS {rss0} -> {rss1} KiB "
              f"({per_rss:.1f} KiB each), anon {priv0} -> {priv1} KiB ({per_priv:.1f} KiB each), "
              f"PSS {pss0} -> {pss1} KiB ({per_pss:.1f} KiB each, not asserted); "
              f"bound {IDLE_TLS_KIB_BOUND} KiB")
        assert per_rss < IDLE_TLS_KIB_BOUND, per_rss
        assert per_priv < IDLE_TLS_KIB_BOUND, per_priv
        # They still work: one of them sees a delivery and ends IDLE cleanly.
        env.deliver(b"Subject: after\r\n\r\nx\r\n")
        read_until(conns[-1], b"* 4 EXISTS")
        conns[-1].sendall(b"DONE\r\n")
        read_until(conns[-1], b"c OK")
        for s in warm + conns:
            s.close()


def waiting_session(port, tls=False):
    """A session logged in, INBOX selected, waiting for its next command."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls:
        s = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
    s.sendall(f'a LOGIN {USER} "{PW}"\r\nb SELECT INBOX\r\n'.encode())
    buf = read_until(s, b"\r\nb OK")
    assert b"\r\na OK" in buf, buf
    return s


def test_sessions_waiting_for_a_command_cost_little_memory():
    n = int(os.environ.get("TERN_WAITING_SESSIONS", "300"))
    raise_nofile()
    # One tern-imapd per transport: memory freed by the other's logins would be reused
    # and make the second slope look smaller than it is.
    for tls, bound in ((False, WAITING_PLAIN_KIB_BOUND), (True, WAITING_TLS_KIB_BOUND)):
        listener = "imaps" if tls else "imap"
        with PerfEnv(listeners=(listener,), limits=f"connections = {n + 100}\nconnections_per_ip = {n + 100}") as env:
            env.setup(messages=MIME_MSGS)
            pid = env.imapd.pid
            port = env.port(listener)
            warm = [waiting_session(port, tls) for _ in range(20)]
            time.sleep(1)
            rss0, priv0 = proc_status(pid, "VmRSS"), private_kib(pid)
            conns = [waiting_session(port, tls) for _ in range(n)]
            time.sleep(1)
            rss1, priv1 = proc_status(pid, "VmRSS"), private_kib(pid)
            per_rss, per_priv = (rss1 - rss0) / n, (priv1 - priv0) / n
            print(f"  {n} {'TLS' if tls else 'plaintext'} sessions waiting for a command: RSS "
                  f"{per_rss:.1f} KiB each, anon {per_priv:.1f} KiB each; bound {bound} KiB")
            assert per_rss < bound, per_rss
            assert per_priv < bound, per_priv
            # Every one still answers (they were parked, not lost), pipelined and all.
            for i, c in enumerate(conns):
                c.sendall(f"n{i} NOOP\r\n".encode())
            for i, c in enumerate(conns):
                read_until(c, f"n{i} OK".encode())
            for c in warm + conns:
                c.close()


def test_parked_idle_wakes_for_every_kind_of_input():
    # IDLE parks the session (no coroutine while the client is quiet); each way out of
    # the park must behave as RFC 2177 says.
    with PerfEnv() as env:
        env.setup(messages=MIME_MSGS)
        port = env.port("imap")
        # DONE trickled in two pieces, with a pause: the first piece wakes the park, the
        # line is completed by a normal read.
        s = idle_session(port)
        s.sendall(b"DO")
        time.sleep(0.3)
        s.sendall(b"NE\r\n")
        read_until(s, b"c OK IDLE terminated")
        # DONE with the next command pipelined in the same write; then IDLE again.
        s.sendall(b"d IDLE\r\n")
        read_until(s, b"+ ")
        s.sendall(b"DONE\r\ne NOOP\r\nf IDLE\r\n")
        buf = read_until(s, b"e OK")
        assert b"d OK IDLE terminated" in buf, buf
        read_until(s, b"+ ", buf.split(b"e OK", 1)[1])
        # A delivery wakes it (change), it stays in IDLE, then a flag change by another
        # session, then DONE.
        env.deliver(b"Subject: while parked\r\n\r\nx\r\n")
        read_until(s, b"* 4 EXISTS", timeout=5)
        other = imaplib.IMAP4("127.0.0.1", port)
        other.login(USER, PW)
        other.select("INBOX")
        other.store("1", "+FLAGS", "\\Flagged")
        other.logout()
        buf = read_until(s, b"\\Flagged", timeout=5)
        assert b"* 1 FETCH (" in buf, buf
        s.sendall(b"DONE\r\n")
        read_until(s, b"f OK IDLE terminated")
        # Anything but DONE: BAD, and the session goes on.
        s.sendall(b"g IDLE\r\n")
        read_until(s, b"+ ")
        s.sendall(b"NOPE\r\n")
        read_until(s, b"g BAD")
        s.sendall(b"h NOOP\r\n")
        read_until(s, b"h OK")
        # A client that vanishes while parked (in IDLE and waiting for a command): the
        # session ends and is logged as such.
        s.sendall(b"i IDLE\r\n")
        read_until(s, b"+ ")
        s.close()
        w = waiting_session(port)
        w.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            log = env.log("tern-imapd")
            if log.count("imap disconnect") >= 3:
                break
            time.sleep(0.1)
        assert log.count("reason=eof") >= 2, log[-2000:]


def test_shutdown_says_bye_to_parked_sessions():
    # SIGTERM: sessions parked waiting for a command (logged in or not) are woken and get
    # "* BYE Server shutting down" at once; they are not left to be cut off after the
    # shutdown grace period (10 s) without a word.
    with PerfEnv() as env:
        env.setup(messages=MIME_MSGS)
        port = env.port("imap")
        waiting = [waiting_session(port) for _ in range(5)]
        fresh = socket.create_connection(("127.0.0.1", port), timeout=30)
        read_until(fresh, b"\r\n")  # the greeting; never logs in
        t0 = time.time()
        env.imapd.send_signal(signal.SIGTERM)
        for c in waiting + [fresh]:
            read_until(c, b"* BYE Server shutting down", timeout=5)
        assert env.imapd.wait(timeout=20) == 0
        took = time.time() - t0
        print(f"  SIGTERM with 6 parked sessions: every one got BYE, tern-imapd exited after {took:.2f} s")
        assert took < 5, took
        log = env.log("tern-imapd")
        assert log.count("reason=server shutting down") == 6, log[-3000:]
        for c in waiting + [fresh]:
            c.close()


if __name__ == "__main__":
    run_tests([
        test_shutdown_says_bye_to_parked_sessions,
        test_sessions_waiting_for_a_command_cost_little_memory,
        test_parked_idle_wakes_for_every_kind_of_input,
        test_idle_sessions_share_one_inotify_and_see_smtp_delivery,
        test_partial_fetch_reads_only_the_range,
        test_structure_cache_per_body,
        test_idle_tls_memory_per_connection,
    ])
