"""Two imaplib sessions on one mailbox: what one changes reaches the other with correct
numbers, through the extensions clients resync with. CONDSTORE (RFC 7162 §3.1): MODSEQ
grows with every change, FETCH CHANGEDSINCE returns just what another session changed,
STORE UNCHANGEDSINCE fails for a message the other session changed. QRESYNC (§3.2):
a selected session hears another session's expunges as VANISHED (not EXPUNGE), also in
IDLE; SELECT (QRESYNC ...) with known UIDs and sequence match data. MOVE (RFC 6851):
COPYUID before the expunges, and the other session sees them. UID EXPUNGE (RFC 4315)
removes only the given \\Deleted messages, while another session's \\Deleted stay.

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_sync.py
"""
import imaplib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import run_tests  # noqa: E402
from test_imap import USER, ImapEnv, ok  # noqa: E402

imaplib.Commands.setdefault("ENABLE", ("AUTH",))
imaplib.Commands.setdefault("MOVE", ("SELECTED",))

MSGS = [b"Subject: m%d\r\nMessage-ID: <%d@sync.test>\r\n\r\nbody %d\r\n" % (i, i, i) for i in range(1, 7)]


def modseqs(data):
    """FETCH data -> {uid: modseq}"""
    out = {}
    for d in data:
        line = d if isinstance(d, bytes) else d[0]
        m = re.search(rb"UID (\d+)", line)
        ms = re.search(rb"MODSEQ \((\d+)\)", line)
        if m and ms:
            out[int(m.group(1))] = int(ms.group(1))
    return out


def pop(m, name):
    return m.untagged_responses.pop(name, [])


def after_expunges(uids, seqs):
    """The UIDs left when the EXPUNGE responses `seqs` are applied in order (a
    server may send them in any order that keeps the numbers right)."""
    left = list(uids)
    for s in seqs:
        del left[int(s) - 1]
    return left


def test_condstore_between_sessions():
    with ImapEnv() as env:
        env.setup(messages=MSGS)
        a = env.login()
        b = env.login()
        typ, data = a._simple_command("SELECT", "INBOX", "(CONDSTORE)")
        assert typ == "OK"
        a.state = "SELECTED"
        hms0 = int(pop(a, "HIGHESTMODSEQ")[0])
        ms0 = modseqs(ok(a.uid("FETCH", "1:*", "(MODSEQ)")))
        assert sorted(ms0) == [1, 2, 3, 4, 5, 6] and max(ms0.values()) <= hms0, ms0
        ok(b.select("INBOX"))
        ok(b.store("2", "+FLAGS", "(\\Seen)"))
        ok(b.uid("STORE", "5", "+FLAGS", "($Later)"))
        # a, still selected: CHANGEDSINCE returns just uids 2 and 5, with new MODSEQs.
        typ, data = a._simple_command("UID", "FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {hms0})")
        assert typ == "OK"
        data = pop(a, "FETCH")
        got = modseqs(data)
        assert sorted(got) == [2, 5], data
        assert all(v > hms0 for v in got.values()), got
        assert any(b"\\Seen" in d for d in data if re.search(rb"UID 2\b", d)), data
        assert any(b"$Later" in d for d in data if re.search(rb"UID 5\b", d)), data
        # STATUS HIGHESTMODSEQ moved on.
        typ, data = b.status("INBOX", "(HIGHESTMODSEQ)")
        hms1 = int(re.search(rb"HIGHESTMODSEQ (\d+)", data[0]).group(1))
        assert hms1 >= max(got.values()), (hms1, got)
        # UNCHANGEDSINCE with a's old MODSEQ of uid 2 fails for 2, works for 3.
        typ, data = a._simple_command("UID", "STORE", "2:3", f"(UNCHANGEDSINCE {ms0[3]})", "+FLAGS", "(\\Flagged)")
        assert typ == "OK" and b"[MODIFIED 2]" in data[0], data
        fl = {int(re.search(rb"UID (\d+)", d).group(1)): d for d in ok(a.uid("FETCH", "2:3", "(FLAGS)"))}
        assert b"\\Flagged" in fl[3] and b"\\Flagged" not in fl[2], fl
        # b (no CONDSTORE) hears a's change at NOOP.
        ok(b.noop())
        assert any(b"UID 3" in f and b"\\Flagged" in f for f in pop(b, "FETCH")), b.untagged_responses
        a.logout()
        b.logout()


def test_qresync_vanished_live_and_in_idle():
    with ImapEnv() as env:
        env.setup(messages=MSGS)
        a = env.login()
        typ, data = a._simple_command("ENABLE", "QRESYNC")
        assert typ == "OK"
        ok(a.select("INBOX"))
        uidvalidity = int(a.untagged_responses["UIDVALIDITY"][0])
        hms = int(a.untagged_responses["HIGHESTMODSEQ"][0])
        b = env.login()
        ok(b.select("INBOX"))
        ok(b.store("2", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        a.untagged_responses.clear()
        ok(a.noop())
        # RFC 7162 §3.2.10: after ENABLE QRESYNC, VANISHED and never EXPUNGE.
        assert pop(a, "VANISHED") == [b"2"], a.untagged_responses
        assert "EXPUNGE" not in a.untagged_responses, a.untagged_responses
        # In IDLE too: b expunges uid 4, a hears "* VANISHED 4" while idling.
        tag = a._new_tag().decode()
        a.send(f"{tag} IDLE\r\n".encode())
        assert a.readline().startswith(b"+ ")
        ok(b.store("3", "+FLAGS", "(\\Deleted)"))  # seq 3 is uid 4 now
        ok(b.expunge())
        deadline = time.time() + 10
        lines = []
        while time.time() < deadline:
            line = a.readline()
            lines.append(line)
            if line.startswith(b"* VANISHED") or b"EXPUNGE" in line:
                break
        assert lines[-1] == b"* VANISHED 4\r\n", lines
        a.send(b"DONE\r\n")
        while True:
            line = a.readline()
            if line.startswith(tag.encode()):
                assert b"OK" in line, line
                break
        a.logout()
        b.logout()
        # Resync from scratch with known UIDs and sequence match data (RFC 7162
        # §3.2.5.2): what was expunged among the known UIDs is VANISHED (EARLIER).
        c = env.login()
        c._simple_command("ENABLE", "QRESYNC")
        typ, data = c._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity} {hms} 1:6 (1,3,5 1,4,6)))")
        assert typ == "OK", data
        c.state = "SELECTED"
        assert pop(c, "VANISHED") == [b"(EARLIER) 2,4"], c.untagged_responses
        assert pop(c, "EXISTS") == [b"4"]
        # A wrong UIDVALIDITY: a plain SELECT, nothing VANISHED.
        typ, data = c._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity + 1} {hms}))")
        assert typ == "OK"
        assert "VANISHED" not in c.untagged_responses
        c.logout()


def test_move_and_uid_expunge_seen_by_another_session():
    with ImapEnv() as env:
        env.setup(messages=MSGS)
        a = env.login()
        b = env.login()
        ok(a.select("INBOX"))
        ok(b.select("INBOX"))
        # MOVE by sequence numbers: COPYUID first (untagged OK), then EXPUNGEs.
        typ, data = a._simple_command("MOVE", "2:3", "Archive")
        assert typ == "OK", data
        cu = pop(a, "COPYUID")
        assert cu and cu[0].split()[1:] == [b"2:3", b"1:2"], cu
        assert after_expunges([1, 2, 3, 4, 5, 6], pop(a, "EXPUNGE")) == [1, 4, 5, 6]
        # b hears the two expunges at NOOP, numbered as b knew them.
        ok(b.noop())
        assert after_expunges([1, 2, 3, 4, 5, 6], pop(b, "EXPUNGE")) == [1, 4, 5, 6]
        assert ok(b.uid("SEARCH", "ALL")) == [b"1 4 5 6"]
        # UID EXPUNGE: a marks 1 and 5, b marks 6; a expunges uid 5 only.
        ok(a.uid("STORE", "1,5", "+FLAGS", "(\\Deleted)"))
        ok(b.uid("STORE", "6", "+FLAGS", "(\\Deleted)"))
        typ, data = a._simple_command("UID", "EXPUNGE", "5:6")
        assert typ == "OK"
        # uid 5 was seq 3; uid 6 is \Deleted too (by b) and in the set, so it goes as well
        # (RFC 4315 §2.1: the set's messages that have \Deleted).
        assert after_expunges([1, 4, 5, 6], pop(a, "EXPUNGE")) == [1, 4]
        assert ok(a.uid("SEARCH", "ALL")) == [b"1 4"]
        assert ok(a.uid("SEARCH", "DELETED")) == [b"1"]  # outside the set: kept
        ok(b.noop())
        assert after_expunges([1, 4, 5, 6], pop(b, "EXPUNGE")) == [1, 4]
        a.logout()
        b.logout()
        assert sorted(env.mailbox(USER, "Archive").values()) == sorted(MSGS[1:3])
        assert sorted(env.mailbox(USER, "INBOX").values()) == sorted([MSGS[0], MSGS[3]])


def raw_noop(m, tag):
    """Sends NOOP on an imaplib session and returns its untagged lines in the order the
    server sent them (imaplib's untagged_responses loses the order)."""
    m.send(tag.encode() + b" NOOP\r\n")
    lines = []
    while True:
        line = m.readline()
        assert line, "connection closed"
        if line.startswith(tag.encode() + b" "):
            assert line.startswith(tag.encode() + b" OK"), line
            return lines
        lines.append(line.rstrip(b"\r\n"))


def flags_of(text):
    return sorted(f for f in text.split() if f != b"\\Recent")


def test_many_changes_between_two_noops():
    """The incremental view update (only what changed since the view's MODSEQ): between
    two NOOPs of b, a changes flags, appends, expunges old and new messages (one appended
    and expunged before b ever saw it), flags a message then expunges it; b's untagged
    responses, applied in order, give exactly the mailbox a sees, with correct numbers."""
    with ImapEnv() as env:
        env.setup(messages=MSGS)
        a = env.login()
        b = env.login()
        ok(a.select("INBOX"))
        ok(b.select("INBOX"))
        view = [[u, []] for u in range(1, 7)]  # b's view: [uid, flags], by sequence number
        n = 0
        for rnd in range(3):
            ok(a.uid("STORE", "1:*", "+FLAGS", "(\\Seen)")) if rnd == 1 else None
            ok(a.uid("STORE", "2,4", "+FLAGS", "(\\Flagged $Round%d)" % rnd))
            for i in range(3):
                ok(a.append("INBOX", None, None, b"Subject: r%d-%d\r\n\r\nnew\r\n" % (rnd, i)))
            top = int(ok(a.uid("SEARCH", "ALL"))[0].split()[-1])
            # the newest one goes again, unseen by b; one old one flagged then expunged
            old = int(ok(a.uid("SEARCH", "ALL"))[0].split()[0])
            ok(a.uid("STORE", "%d,%d" % (old, top), "+FLAGS", "(\\Deleted)"))
            ok(a.expunge())
            ok(a.uid("STORE", str(top - 1), "+FLAGS", "(\\Answered)"))
            ok(a.append("INBOX", "(\\Draft)", None, b"Subject: r%d-last\r\n\r\nnew\r\n" % rnd))
            n += 1
            exists = None
            for line in raw_noop(b, "n%d" % n):
                m = re.match(rb"\* (\d+) EXPUNGE$", line)
                if m:
                    del view[int(m.group(1)) - 1]
                    continue
                m = re.match(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\)", line)
                if m:
                    seq, uid = int(m.group(1)), int(m.group(2))
                    assert view[seq - 1][0] == uid, (line, view)
                    view[seq - 1][1] = flags_of(m.group(3))
                    continue
                m = re.match(rb"\* (\d+) EXISTS$", line)
                if m:
                    exists = int(m.group(1))
                    while len(view) < exists:
                        view.append([None, None])  # new: b learns its UID and flags by FETCH
            assert exists is not None, "no EXISTS after appends"
            truth = ok(a.fetch("1:*", "(UID FLAGS)"))
            got = ok(b.fetch("1:*", "(UID FLAGS)"))
            assert len(got) == len(truth) == len(view), (len(got), len(truth), len(view))
            for i, (t, g) in enumerate(zip(truth, got)):
                mt = re.match(rb"(\d+) \(UID (\d+) FLAGS \(([^)]*)\)\)", t)
                mg = re.match(rb"(\d+) \(UID (\d+) FLAGS \(([^)]*)\)\)", g)
                assert mt and mg and mt.group(1) == mg.group(1) == b"%d" % (i + 1), (t, g)
                assert mt.group(2) == mg.group(2), (t, g)
                assert flags_of(mt.group(3)) == flags_of(mg.group(3)), (t, g)
                if view[i][0] is not None:  # known before: what the NOOP said matches
                    assert view[i][0] == int(mg.group(2)), (i, view[i], g)
                    if view[i][1]:
                        assert view[i][1] == flags_of(mg.group(3)), (i, view[i], g)
                view[i] = [int(mg.group(2)), flags_of(mg.group(3))]
            # Nothing more is due: another NOOP says nothing.
            assert raw_noop(b, "q%d" % n) == []
        a.logout()
        b.logout()


if __name__ == "__main__":
    run_tests([
        test_many_changes_between_two_noops,
        test_condstore_between_sessions,
        test_qresync_vanished_live_and_in_idle,
        test_move_and_uid_expunge_seen_by_another_session,
    ])
