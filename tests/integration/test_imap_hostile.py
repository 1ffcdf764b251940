"""tern-imapd against hostile input: the CPU blow-up classes fixed in Dovecot in 2026
(LIST with many wildcards, THREAD on deep reference chains, deeply nested lists, long ID
lists, huge sequence sets) and a few of the same kind (many BODY keys in one SEARCH,
BODY[] asked for many times in one FETCH, MIME nested deep or with thousands of RFC 2231
parameters). Each attack must cost the daemon under 100 ms of CPU (utime + stime of the
whole process from /proc/PID/stat, before and after, so the load of other processes on
the machine does not count) and keep its peak memory (VmHWM) bounded; each gets the
answer it should (BAD with a reason, or the right result), and the session goes on.

Every measured figure is printed ("cpu <attack> <ms>"), so a run documents itself.
Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_hostile.py
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import run_tests  # noqa: E402
from test_imap import PW, USER, ImapEnv  # noqa: E402

CPU_BOUND_MS = 100.0
MEM_BOUND_KB = 64 * 1024  # growth of VmHWM one attack may cause
CLK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after "(comm)": state is field 3, utime 14 and stime 15 (proc(5))
    return (int(fields[11]) + int(fields[12])) * 1000.0 / CLK


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class Conn:
    """Raw IMAP connection reading whole responses (literals included) as bytes."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def send(self, data):
        self.s.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def until(self, tag, keep=1 << 20):
        """Reads up to the tagged line of `tag`; returns (text kept, tagged line, size).
        Literals are skipped by their announced size; only the first `keep` octets of
        the answer are kept (a FETCH of many BODY[] is large)."""
        tag = tag.encode() if isinstance(tag, str) else tag
        kept, total = b"", 0
        while True:
            l = self.line()
            if l == b"":
                return kept, b"", total
            total += len(l)
            if len(kept) < keep:
                kept += l
            if l.startswith(tag + b" "):
                return kept, l, total
            if l.endswith(b"}\r\n") and b"{" in l:
                n = int(l[l.rindex(b"{") + 1:-3].rstrip(b"+"))
                while n > 0:
                    if not self.buf:
                        chunk = self.s.recv(min(n, 1 << 20))
                        if not chunk:
                            return kept, b"", total
                        self.buf = chunk
                    k = min(n, len(self.buf))
                    if len(kept) < keep:
                        kept += self.buf[:k]
                    self.buf = self.buf[k:]
                    n -= k
                    total += k

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Meter:
    def __init__(self, pid):
        self.pid = pid
        self.figures = []

    def run(self, name, conn, tag, data, bound_ms=CPU_BOUND_MS):
        """Sends `data` (the whole command, literals included), waits for the tagged
        answer; asserts the CPU and memory bounds; returns (kept, tagged line)."""
        hwm0 = status_kb(self.pid, "VmHWM")
        t0 = cpu_ms(self.pid)
        w0 = time.time()
        conn.send(data)
        kept, tagged, total = conn.until(tag)
        used = cpu_ms(self.pid) - t0
        wall = (time.time() - w0) * 1000
        grew = status_kb(self.pid, "VmHWM") - hwm0
        self.figures.append((name, used, grew))
        print(f"cpu {name}: {used:.0f} ms (wall {wall:.0f} ms, answer {total} octets, "
              f"VmHWM +{grew} KiB) -> {tagged[:90]!r}", flush=True)
        assert tagged, f"{name}: connection closed without an answer"
        assert used < bound_ms, f"{name}: {used:.0f} ms of CPU (bound {bound_ms:.0f})"
        assert grew < MEM_BOUND_KB, f"{name}: VmHWM grew {grew} KiB"
        return kept, tagged


def login(env):
    c = Conn(env.port("imap"))
    _, t, _ = c.cmd("l", f'LOGIN {USER} "{PW}"')
    assert t.startswith(b"l OK"), t
    return c


def still_works(c, tag="z"):
    _, t, _ = c.cmd(tag, "NOOP")
    assert t.startswith(tag.encode() + b" OK"), t


def append_all(c, mailbox, messages):
    """APPENDs with LITERAL+ in one pipelined burst, then reads every answer."""
    burst = b"".join(b"p%d APPEND %s {%d+}\r\n%s\r\n" % (i, mailbox.encode(), len(m), m)
                     for i, m in enumerate(messages))
    c.send(burst)
    for i in range(len(messages)):
        _, t, _ = c.until(f"p{i}")
        assert t.startswith(b"p%d OK" % i), t


def daemon_pid(env):
    return [p for p in env.procs if p.poll() is None][-1].pid


# ---------------------------------------------------------------------------------

def test_list_wildcards():
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        # Names the old backtracking matchers choke on: long runs of one letter.
        names = ["a" * 40, "a" * 100 + "/" + "a" * 100, "b" * 200] + [f"box{i}/sub{i}" for i in range(30)]
        for i, n in enumerate(names):
            _, t, _ = c.cmd(f"c{i}", f'CREATE "{n}"')
            assert t.startswith(b"c%d OK" % i), t
        m = Meter(daemon_pid(env))
        # "*a" x 16 then "b": C(40,16) ~ 6e10 ways to split "a"x40 for a backtracker.
        p = "*a" * 16 + "b"
        kept, t = m.run("LIST *a x16 b", c, "a1", f'a1 LIST "" "{p}"\r\n')
        assert t.startswith(b"a1 OK") and b"* LIST" not in kept, kept
        p = "*a" * 20
        kept, t = m.run("LIST *a x20 (matches)", c, "a2", f'a2 LIST "" "{p}"\r\n')
        assert b'"/" ' + b"a" * 40 in kept, kept
        # As long as a command line may be: 32K of "%*".
        p = "%*" * 16000 + "x"
        kept, t = m.run("LIST %* x16000", c, "a3", f'a3 LIST "" "{p}"\r\n')
        assert t.startswith(b"a3 OK"), t
        # In a literal (up to the command line limit), with a reference.
        p = ("*a%" * 20000).encode()
        kept, t = m.run("LIST literal *a% x20000", c, "a4",
                        b'a4 LIST "a" {%d+}\r\n%s\r\n' % (len(p), p))
        assert t.startswith(b"a4 OK"), t
        # LIST-EXTENDED: 100 patterns (the cap), each a wildcard mess.
        pats = " ".join(f'"{"*a" * 30}%{i}"' for i in range(100))
        kept, t = m.run("LIST-EXTENDED 100 patterns", c, "a5", f'a5 LIST "" ({pats})\r\n')
        assert t.startswith(b"a5 OK"), t
        pats = " ".join('"*"' for _ in range(101))
        kept, t = m.run("LIST-EXTENDED 101 patterns", c, "a6", f'a6 LIST "" ({pats})\r\n')
        assert t.startswith(b"a6 BAD"), t
        kept, t = m.run("LSUB *% x16000", c, "a7", f'a7 LSUB "" "{"*%" * 16000}"\r\n')
        assert t.startswith(b"a7 OK"), t
        still_works(c)
        c.close()


def chain_messages(n, refs, reverse=False):
    """n messages, message i referencing its `refs` nearest ancestors (a chain n deep)."""
    out = []
    for i in range(1, n + 1):
        anc = [f"<m{j}@chain.test>" for j in range(max(1, i - refs), i)]
        if reverse:
            anc.reverse()
        h = f"Message-ID: <m{i}@chain.test>\r\nSubject: Re: the chain\r\n"
        if anc:
            h += "References: " + "\r\n ".join(anc) + "\r\n"
            h += f"In-Reply-To: {anc[-1] if not reverse else anc[0]}\r\n"
        h += f"Date: Tue, 01 Dec 2026 08:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
        out.append((h + "\r\nbody\r\n").encode())
    return out


def test_thread_deep_reference_chains():
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        for box in ("Chain", "Reverse", "Flat"):
            _, t, _ = c.cmd("c" + box, "CREATE " + box)
            assert b"OK" in t, t
        n = 400
        # Every message references the 1000 ancestors it may (parse_message_ids keeps
        # 1000), a chain n deep; then the same with References in reverse order
        # (every link contradicts the one before: loop checks everywhere).
        append_all(c, "Chain", chain_messages(n, 1000))
        append_all(c, "Reverse", chain_messages(n, 1000, reverse=True))
        append_all(c, "Flat", [b"Subject: s%d\r\n\r\nbody\r\n" % i for i in range(n)])
        m = Meter(daemon_pid(env))
        _, t, _ = c.cmd("s0", "SELECT Flat")
        kept, t = m.run(f"THREAD REFERENCES {n} unrelated (baseline)", c, "t0",
                        "t0 THREAD REFERENCES UTF-8 ALL\r\n")
        assert t.startswith(b"t0 OK"), t
        _, t, _ = c.cmd("s1", "SELECT Chain")
        kept, t = m.run(f"THREAD REFERENCES chain {n} deep", c, "t1", "t1 THREAD REFERENCES UTF-8 ALL\r\n")
        assert t.startswith(b"t1 OK"), t
        line = [l for l in kept.split(b"\r\n") if l.startswith(b"* THREAD ")][0]
        assert line == b"* THREAD (" + b" ".join(b"%d" % i for i in range(1, n + 1)) + b")", line[:200]
        kept, t = m.run(f"UID THREAD ORDEREDSUBJECT chain {n}", c, "t2",
                        "t2 UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n")
        assert t.startswith(b"t2 OK"), t
        _, t, _ = c.cmd("s2", "SELECT Reverse")
        kept, t = m.run(f"THREAD REFERENCES reversed chain {n}", c, "t3",
                        "t3 THREAD REFERENCES UTF-8 ALL\r\n")
        assert t.startswith(b"t3 OK"), t
        line = [l for l in kept.split(b"\r\n") if l.startswith(b"* THREAD ")][0]
        for i in range(1, n + 1):  # every message is in the answer exactly once
            assert line.count(b" %d " % i) + line.count(b"(%d " % i) + line.count(b" %d)" % i) \
                + line.count(b"(%d)" % i) == 1, (i, line[:300])
        # Subjects made of thousands of "Re: " or "[blob]" leaders: the base subject
        # (RFC 5256 2.1) of each, for THREAD and SORT, must take one pass.
        _, t, _ = c.cmd("c4", "CREATE Subjects")
        subjects = [b"Re: " * 15000 + b"x", b"[a]" * 20000 + b"y", b"[Fwd: " * 900 + b"z" + b"]" * 900,
                    (b"[l] Re: " * 7000) + b"w (fwd)" * 500]
        append_all(c, "Subjects", [b"Subject: %s\r\nMessage-ID: <s%d@x>\r\n\r\nb\r\n" % (subjects[i % 4], i)
                                   for i in range(20)])
        _, t, _ = c.cmd("s3", "SELECT Subjects")
        kept, t = m.run("THREAD ORDEREDSUBJECT 20 hostile subjects", c, "t4",
                        "t4 THREAD ORDEREDSUBJECT UTF-8 ALL\r\n")
        assert t.startswith(b"t4 OK") and b"(1 (5)(9)(13)(17))" in kept, kept[:300]
        kept, t = m.run("THREAD REFERENCES 20 hostile subjects", c, "t5", "t5 THREAD REFERENCES UTF-8 ALL\r\n")
        assert t.startswith(b"t5 OK"), t
        kept, t = m.run("SORT SUBJECT 20 hostile subjects", c, "t6", "t6 SORT (SUBJECT) UTF-8 ALL\r\n")
        assert t.startswith(b"t6 OK") and b"* SORT 4 8 12 16 20 1 5 9 13 17 2 6 10 14 18 3 7 11 15 19" in kept, kept
        still_works(c)
        c.close()


def test_nested_lists_and_id():
    with ImapEnv() as env:
        env.setup()
        c = login(env)
        m = Meter(daemon_pid(env))
        depth = 30000  # a 60K command line, as deep as it can be
        kept, t = m.run("FETCH ( x30000", c, "n1", "n1 FETCH 1 " + "(" * depth + ")" * depth + "\r\n")
        assert t.startswith(b"n1 BAD") and b"nested" in t, t
        kept, t = m.run("unbalanced ( x60000", c, "n2", "n2 X " + "(" * 60000 + "\r\n")
        assert t.startswith(b"n2 BAD"), t
        _, t, _ = c.cmd("s", "SELECT INBOX")
        kept, t = m.run("SEARCH NOT x15000", c, "n3", "n3 SEARCH " + "NOT " * 15000 + "ALL\r\n")
        assert t.startswith(b"n3 BAD") and b"nested" in t, t
        kept, t = m.run("SEARCH OR x15000", c, "n4", "n4 SEARCH " + "OR ALL " * 9000 + "ALL\r\n")
        assert t.startswith(b"n4 BAD"), t
        # Nesting built from literals: every "(" after a {0} literal on its own line.
        lit = b"n5 X " + b"({0+}\r\n" * 5000 + b")" * 5000 + b"\r\n"
        kept, t = m.run("( with literals x5000", c, "n5", lit)
        assert t.startswith(b"n5 BAD"), t
        # Wide rather than deep: 20000 empty lists, 30000 atoms.
        kept, t = m.run("20000 lists", c, "n6", "n6 X " + "() " * 20000 + "\r\n")
        assert t.startswith(b"n6 BAD Unknown command"), t
        # Brackets: every '[' looks for its ']' (a section such as BODY[HEADER]).
        kept, t = m.run("[ x60000 without ]", c, "n7", "n7 X " + "[" * 60000 + "\r\n")
        assert t.startswith(b"n7 BAD Unknown command"), t
        kept, t = m.run("[ x30000 then \"x\"]", c, "n8", "n8 X " + "[" * 30000 + '"x"]\r\n')
        assert t.startswith(b"n8 BAD Unknown command"), t
        kept, t = m.run("FETCH BODY[HEADER.FIELDS] 7000 fields", c, "n9",
                        "n9 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (" + " ".join(f"X-F{i}" for i in range(7000)) + ")])\r\n")
        assert t.startswith(b"n9 OK") or (t.startswith(b"n9 BAD") and b"too many" in t), t
        # Keywords: each new one is checked against those before it (quadratic in them).
        kws = " ".join(f"$k{i}" for i in range(8500))
        kept, t = m.run("STORE +FLAGS 8500 keywords", c, "k1", f"k1 STORE 1 +FLAGS ({kws})\r\n")
        assert t.startswith(b"k1 BAD"), t
        msg = b"Subject: k\r\n\r\nk\r\n"
        kept, t = m.run("APPEND 8500 keywords", c, "k2", b"k2 APPEND INBOX (%s) {%d+}\r\n%s\r\n" % (kws.encode(), len(msg), msg))
        assert t.startswith(b"k2 BAD"), t
        # ID (RFC 2971): 30 pairs at most; a 60K list of them is refused at once.
        pairs = " ".join(f'"k{i}" "v{i}"' for i in range(4000))
        kept, t = m.run("ID 4000 pairs", c, "i1", f"i1 ID ({pairs})\r\n")
        assert t.startswith(b"i1 BAD"), t
        pairs = " ".join(f'"k{i}" {{1000+}}\r\n{"v" * 1000}' for i in range(30))
        kept, t = m.run("ID 30 pairs of 1000-octet literals", c, "i2", f"i2 ID ({pairs})\r\n")
        assert t.startswith(b"i2 OK") or t.startswith(b"i2 BAD"), t
        kept, t = m.run("ID nested ( x5000", c, "i3", "i3 ID " + "(" * 5000 + ")" * 5000 + "\r\n")
        assert t.startswith(b"i3 BAD"), t
        still_works(c)
        c.close()


def test_huge_sequence_sets():
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        append_all(c, "INBOX", [b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(300)])
        _, t, _ = c.cmd("s", "SELECT INBOX")
        m = Meter(daemon_pid(env))
        for tag, cmd in (("q1", "FETCH 1:4294967295 (FLAGS)"), ("q2", "UID FETCH 1:4294967295 (FLAGS)"),
                         ("q3", "SEARCH 1:4294967295"), ("q4", "UID SEARCH UID 1:4294967295"),
                         ("q5", "UID FETCH 4294967295:1 (UID)"), ("q6", "FETCH *:1,1:*,2:4294967295 (UID)"),
                         ("q7", "UID EXPUNGE 1:4294967295"), ("q8", "UID STORE 1:4294967295 -FLAGS (\\Draft)"),
                         ("q9", "UID COPY 4294967000:4294967295 INBOX")):
            kept, t = m.run(cmd, c, tag, f"{tag} {cmd}\r\n")
            assert t.startswith(tag.encode() + b" OK"), t
        # 100,000 elements "1,3,5,...": a 600K line, over the command line limit.
        s = ",".join(str(i) for i in range(1, 200000, 2))
        kept, t = m.run("FETCH 1,3,5.. 100000 elements", c, "r1", f"r1 FETCH {s} (FLAGS)\r\n")
        assert t.startswith(b"r1 BAD") and b"too long" in t, t
        # 10,000 ranges (the sequence_ranges cap) within the line limit, in each place
        # a set is taken: FETCH, SEARCH, SEARCH UID, STORE, COPY, UID EXPUNGE, QRESYNC.
        s = ",".join(str(i) for i in range(1, 20000, 2))
        half = s[:s.rindex(",", 0, 30000)]
        for tag, cmd in (("r2", f"UID FETCH {s} (FLAGS)"), ("r3", f"SEARCH {s}"), ("r4", f"UID SEARCH UID {s}"),
                         ("r5", f"UID STORE {s} +FLAGS.SILENT (\\Seen)"), ("r6", f"UID COPY {s} INBOX"),
                         ("r7", f"UID EXPUNGE {s}"), ("r8", f"SEARCH NOT {half} NOT {half}")):
            kept, t = m.run(cmd[:30] + f".. ({len(cmd)} octets)", c, tag, f"{tag} {cmd}\r\n")
            assert t.startswith(tag.encode() + b" OK") or t.startswith(tag.encode() + b" BAD"), t
        # Over the cap: BAD with a reason.
        s = ",".join(str(i) for i in range(1, 20004, 2))
        kept, t = m.run("FETCH 10002 ranges", c, "r9", f"r9 UID FETCH {s} (FLAGS)\r\n")
        assert t.startswith(b"r9 BAD"), t
        # QRESYNC known-UIDs with 10,000 ranges.
        _, t, _ = c.cmd("e", "ENABLE QRESYNC")
        s = ",".join(str(i) for i in range(1, 20000, 2))
        kept, t = m.run("SELECT QRESYNC 10000 known UIDs", c, "r10", f"r10 SELECT INBOX (QRESYNC (1 1 {s}))\r\n")
        assert t.startswith(b"r10 OK"), t
        still_works(c)
        c.close()


def test_search_and_fetch_amplification():
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        body = b"".join(b"line %d of a longer text body, nothing to find here\r\n" % i for i in range(100))
        append_all(c, "INBOX", [b"Subject: m%d\r\nFrom: a@b.test\r\n\r\n%s" % (i, body) for i in range(200)])
        big = b"Subject: big\r\n\r\n" + (b"y" * 78 + b"\r\n") * 2600  # ~203 KiB, under one piece
        append_all(c, "INBOX", [big])
        _, t, _ = c.cmd("s", "SELECT INBOX")
        m = Meter(daemon_pid(env))
        # Every BODY key scans every message: thousands of them in one SEARCH cost
        # keys x mailbox size. NOT keeps each one true, so all are evaluated.
        kept, t = m.run("SEARCH NOT BODY x4000", c, "b1", "b1 SEARCH " + "NOT BODY zzzz " * 4000 + "\r\n")
        assert t.startswith(b"b1 OK") or (t.startswith(b"b1 BAD") and b"too many" in t), t
        kept, t = m.run("SEARCH NOT HEADER x2500", c, "b2",
                        "b2 SEARCH " + "NOT HEADER X-Nope zzzz " * 2500 + "\r\n")
        assert t.startswith(b"b2 OK") or (t.startswith(b"b2 BAD") and b"too many" in t), t
        # At the cap (100 keys) all are evaluated: the cost is 100 passes over this
        # 1.2 MiB mailbox (the bound here is that, not the 100 ms of one attack).
        kept, t = m.run("SEARCH NOT BODY x100 (the cap)", c, "b4", "b4 SEARCH " + "NOT BODY zzzz " * 100 + "\r\n",
                        bound_ms=2000)
        assert t.startswith(b"b4 OK"), t
        # BODY[] of a 203 KiB message asked for 400 times: ~80 MiB of answer. The
        # daemon must send it in pieces, not build it in memory first (VmHWM bound).
        # The CPU is the copying, proportional to the answer the client asked for.
        kept, t = m.run("FETCH BODY[] x400 of 203 KiB", c, "b3",
                        "b3 FETCH 201 (" + "BODY.PEEK[] " * 400 + ")\r\n", bound_ms=2000)
        assert t.startswith(b"b3 OK"), t
        still_works(c)
        c.close()


def test_pipelined_replies_bounded():
    """A client pipelines commands with large answers and does not read: the daemon
    must stop at its output cap and wait (backpressure), not queue every answer."""
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        append_all(c, "INBOX", [b"Subject: m%d\r\n\r\nbody\r\n" % i for i in range(1000)])
        _, t, _ = c.cmd("s", "SELECT INBOX")
        pid = daemon_pid(env)
        n = 1100  # ~60 KiB of commands, each answered with ~100 KiB (FETCH 1:* of 1000)
        burst = "".join(f"f{i} FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)\r\n" for i in range(n))
        hwm0 = status_kb(pid, "VmHWM")
        c.send(burst)
        # Let it work until its CPU time stops moving (it is blocked on the write).
        last, still, deadline = cpu_ms(pid), 0, time.time() + 20
        while time.time() < deadline and still < 5:
            time.sleep(0.1)
            now = cpu_ms(pid)
            still = still + 1 if now == last else 0
            last = now
        grew = status_kb(pid, "VmHWM") - hwm0
        print(f"mem pipelined {n} x FETCH 1:* unread: VmHWM +{grew} KiB", flush=True)
        for i in range(n):
            _, t, _ = c.until(f"f{i}")
            assert t.startswith(b"f%d OK" % i), t
        assert grew < 8 * 1024, f"VmHWM grew {grew} KiB while the client did not read"
        still_works(c)
        c.close()


def nested_mime(depth):
    h = b"Subject: nested\r\nMIME-Version: 1.0\r\n"
    parts = []
    for i in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    inner = b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return h + b"".join(parts) + inner + tail


def test_mime_nesting_and_rfc2231_parameters():
    with ImapEnv() as env:
        env.setup(messages=())
        c = login(env)
        params = b";\r\n ".join(b"filename*%d*=utf-8''x%%C3%%A9%d" % (i, i) for i in range(5000))
        many = (b"Subject: params\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream;\r\n "
                + params + b"\r\nContent-Disposition: attachment;\r\n " + params + b"\r\n\r\nAAAA\r\n")
        append_all(c, "INBOX", [nested_mime(3000), many])
        _, t, _ = c.cmd("s", "SELECT INBOX")
        m = Meter(daemon_pid(env))
        kept, t = m.run("BODYSTRUCTURE multipart nested 3000", c, "m1", "m1 FETCH 1 (BODYSTRUCTURE)\r\n")
        assert t.startswith(b"m1 OK"), t
        kept, t = m.run("BODY[1.1.1.1...] 3000 deep section", c, "m2",
                        "m2 FETCH 1 (BODY.PEEK[" + ".".join(["1"] * 3000) + "])\r\n")
        assert t.startswith(b"m2 OK") or t.startswith(b"m2 BAD"), t
        kept, t = m.run("BODYSTRUCTURE 5000 RFC 2231 params x2", c, "m3", "m3 FETCH 2 (BODYSTRUCTURE)\r\n")
        assert t.startswith(b"m3 OK"), t
        kept, t = m.run("SEARCH TEXT over both", c, "m4", "m4 SEARCH TEXT nothing\r\n")
        assert t.startswith(b"m4 OK"), t
        still_works(c)
        c.close()


if __name__ == "__main__":
    run_tests([
        test_list_wildcards,
        test_thread_deep_reference_chains,
        test_nested_lists_and_id,
        test_huge_sequence_sets,
        test_search_and_fetch_amplification,
        test_pipelined_replies_bounded,
        test_mime_nesting_and_rfc2231_parameters,
    ])
