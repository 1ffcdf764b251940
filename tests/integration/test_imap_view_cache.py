"""The process's view cache (imapd/src/view_cache.hpp): a SELECT of a big mailbox starts
from the snapshot of the last SELECT and reads only what changed since.

- While two sessions change a 49,152-message mailbox (flags, keywords, APPEND, EXPUNGE)
  and tern-deliver (another process) delivers into it, a third session SELECTs it again
  and again: every SELECT + UID FETCH 1:* (FLAGS) is whole (EXISTS = the FETCH lines,
  numbered 1..n, UIDs ascending, HIGHESTMODSEQ never going back). Once the changes stop,
  what it sees (EXAMINE: FLAGS, EXISTS, RECENT, UNSEEN, UIDNEXT, HIGHESTMODSEQ, and
  every message's UID, FLAGS and MODSEQ) is exactly what a restarted tern-imapd (empty
  cache: a load from the store) sees.
- A warm SELECT of the unchanged mailbox costs tern-imapd a fraction of a load from the
  store (CPU time of the process, 30 SELECTs).

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_view_cache.py
"""
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import run_tests  # noqa: E402
from test_imap import PW, USER, ImapEnv, ok  # noqa: E402

SEED = [b"Subject: v%d\r\nMessage-ID: <%d@view.test>\r\n\r\nbody %d\r\n" % (i, i, i) for i in range(1, 7)]
DOUBLINGS = 13  # 6 * 2**13 = 49,152 messages


class Bulk:
    """A raw client reading whole replies (a 49,152-line FETCH is too slow for imaplib)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.n = 0
        self.until(b"\r\n")

    def until(self, marker):
        while marker not in self.buf:
            d = self.s.recv(1 << 20)
            assert d, "connection closed"
            self.buf += d
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def cmd(self, text):
        """The reply up to and with the tagged line, which must be OK."""
        self.n += 1
        tag = b"c%d " % self.n
        self.s.sendall(tag + text.encode() + b"\r\n")
        data, seen = self.buf, 0
        while True:
            i = 0 if data.startswith(tag) else data.find(b"\r\n" + tag, seen)
            if i > 0:
                i += 2
            if i >= 0 and data.find(b"\r\n", i) >= 0:
                break
            seen = max(0, len(data) - len(tag) - 2)
            d = self.s.recv(1 << 20)
            assert d, "connection closed"
            data += d
        j = data.find(b"\r\n", i) + 2
        out, self.buf = data[:j], data[j:]
        assert data[i:].startswith(tag + b"OK"), (text, data[i:j])
        return out

    def close(self):
        self.s.close()


FETCH_LINE = re.compile(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(([^()]*)\)(?: MODSEQ \((\d+)\))?\)")


def select_fetch(c, verb="SELECT", items="UID FLAGS"):
    """SELECT/EXAMINE + UID FETCH 1:*, checked whole; (untagged SELECT lines, messages).
    Other sessions' changes may come with the FETCH (RFC 9051 §7.5.1: EXISTS and FETCH
    flag updates; EXPUNGE after the answers of a UID FETCH, which ends what is looked
    at here): the answers are every message the view held when the FETCH began,
    numbered 1..n, UIDs ascending."""
    sel = c.cmd(f"{verb} INBOX")
    exists = int(re.search(rb"^\* (\d+) EXISTS\r$", sel, re.M).group(1))
    fetched, answers_from = {}, None
    for line in c.cmd(f"UID FETCH 1:* ({items})").split(b"\r\n")[:-2]:
        m = re.fullmatch(rb"\* (\d+) (EXISTS|RECENT|EXPUNGE)", line)
        if m:
            if m.group(2) == b"EXPUNGE":
                if answers_from is not None:
                    break  # numbers shift from here on
                exists -= 1
            elif m.group(2) == b"EXISTS":
                assert int(m.group(1)) >= exists, (line, exists)
                exists = int(m.group(1))
            continue
        if line.startswith(b"* FLAGS ") or line.startswith(b"* OK "):
            continue
        m = FETCH_LINE.fullmatch(line)
        assert m, line
        n, uid = int(m.group(1)), int(m.group(2))
        if answers_from is None:
            answers_from = exists
        assert 1 <= n <= exists, (line, exists)
        if n in fetched:
            assert fetched[n][0] == uid, (line, fetched[n])
        fetched[n] = (uid, sorted(m.group(3).split()), m.group(4))
    assert answers_from is not None and sorted(fetched) == list(range(1, len(fetched) + 1)), len(fetched)
    assert len(fetched) >= answers_from, (len(fetched), answers_from)
    msgs = [fetched[n] for n in range(1, len(fetched) + 1)]
    assert all(a[0] < b[0] for a, b in zip(msgs, msgs[1:])), "UIDs not ascending"
    head = [l for l in sel.split(b"\r\n") if l.startswith(b"* ") and b"[CLOSED]" not in l]
    return head, msgs


def highestmodseq(head):
    return int(next(re.search(rb"HIGHESTMODSEQ (\d+)", l).group(1) for l in head if b"HIGHESTMODSEQ" in l))


def cpu_seconds(pid):
    """CPU time of every thread of the process, in ns precision (schedstat; /proc/PID/stat
    counts clock ticks of 10 ms, too coarse for a few SELECTs)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # the thread ended
    return total / 1e9


def fill(env):
    a = env.login()
    ok(a.select("INBOX"))
    for _ in range(DOUBLINGS):
        ok(a.copy("1:*", "INBOX"))
    a.logout()


def changer_flags(env, stop, errors, rng):
    try:
        a = env.login()
        ok(a.select("INBOX"))
        kws = ["$Work", "Later", "$Junk", "later"]
        while not stop.is_set():
            n = int(ok(a.select("INBOX"))[0])
            lo = rng.randrange(1, n)
            flags = " ".join(rng.sample(["\\Seen", "\\Flagged", "\\Answered", rng.choice(kws)], 2))
            ok(a.store(f"{lo}:{min(n, lo + rng.randrange(50))}", rng.choice(["+FLAGS", "-FLAGS", "FLAGS"]),
                       f"({flags})"))
        a.logout()
    except Exception as e:  # noqa: BLE001 - reported by the main thread
        errors.append(e)


def changer_mail(env, stop, errors, rng):
    try:
        b = env.login()
        ok(b.select("INBOX"))
        i = 0
        while not stop.is_set():
            i += 1
            ok(b.append("INBOX", None, None, b"Subject: new %d\r\n\r\nx\r\n" % i))
            if i % 3 == 0:
                env.deliver(USER, b"Subject: delivered %d\r\n\r\ny\r\n" % i)
            n = int(ok(b.select("INBOX"))[0])
            lo = rng.randrange(1, n)
            ok(b.store(f"{lo}:{min(n, lo + rng.randrange(10))}", "+FLAGS", "(\\Deleted)"))
            ok(b.expunge())
        b.logout()
    except Exception as e:  # noqa: BLE001
        errors.append(e)


def test_select_while_others_change_equals_a_fresh_load():
    with ImapEnv() as env:
        env.setup(messages=SEED)
        fill(env)
        c = Bulk(env.port("imap"))
        c.cmd(f'LOGIN {USER} "{PW}"')
        head, msgs = select_fetch(c)
        assert len(msgs) == 6 << DOUBLINGS, len(msgs)
        stop, errors = threading.Event(), []
        rng = random.Random(17)
        threads = [threading.Thread(target=changer_flags, args=(env, stop, errors, random.Random(1))),
                   threading.Thread(target=changer_mail, args=(env, stop, errors, random.Random(2)))]
        for t in threads:
            t.start()
        try:
            last_hms, selects = highestmodseq(head), 0
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and not errors:
                head, msgs = select_fetch(c, rng.choice(["SELECT", "EXAMINE"]))
                hms = highestmodseq(head)
                assert hms >= last_hms, (hms, last_hms)
                last_hms, selects = hms, selects + 1
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors, errors
        assert selects >= 5, selects
        cached = select_fetch(c, "EXAMINE", "UID FLAGS MODSEQ")
        c.close()
        # A new process: nothing cached, the view is loaded from the store.
        imapd = env.procs[-1]
        env.stop(imapd)
        env.procs.remove(imapd)
        env.start("tern-imapd")
        f = Bulk(env.port("imap"))
        f.cmd(f'LOGIN {USER} "{PW}"')
        fresh = select_fetch(f, "EXAMINE", "UID FLAGS MODSEQ")
        f.close()
        assert cached[0] == fresh[0], (cached[0], fresh[0])
        assert len(cached[1]) == len(fresh[1])
        diff = [(x, y) for x, y in zip(cached[1], fresh[1]) if x != y]
        assert not diff, diff[:5]


def test_warm_select_costs_a_fraction_of_a_load():
    with ImapEnv() as env:
        env.setup(messages=SEED)
        fill(env)
        pid = env.procs[-1].pid
        c = Bulk(env.port("imap"))
        c.cmd(f'LOGIN {USER} "{PW}"')
        c.cmd("SELECT INBOX")  # loads, and keeps the snapshot
        cpu0 = cpu_seconds(pid)
        for _ in range(30):
            c.cmd("SELECT INBOX")
        warm = cpu_seconds(pid) - cpu0
        c.close()
        # What a load from the store costs here: SELECT of the same number of messages in
        # a mailbox whose snapshot is dropped before each SELECT (DELETE + CREATE + COPY:
        # a new mailbox each time, so nothing is cached for it).
        a = env.login()
        loads = 0.0
        for i in range(5):
            ok(a.create(f"Copy{i}"))
            ok(a.select("INBOX"))
            ok(a.copy("1:*", f"Copy{i}"))
            cpu0 = cpu_seconds(pid)
            ok(a.select(f"Copy{i}"))
            loads += cpu_seconds(pid) - cpu0
        a.logout()
        per_load = loads / 5
        per_warm = warm / 30
        print(f"  49,152 messages: warm SELECT {per_warm * 1000:.1f} ms CPU, load {per_load * 1000:.1f} ms CPU")
        assert per_warm < per_load / 3, (per_warm, per_load)


if __name__ == "__main__":
    run_tests([
        test_select_while_others_change_equals_a_fresh_load,
        test_warm_select_costs_a_fraction_of_a_load,
    ])
