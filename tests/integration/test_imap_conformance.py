"""tern-imapd answers that Dovecot's imaptest checks (bench/imap/imaptest.sh), as
imaplib-level tests that CI runs: \\Recent (RFC 3501 2.3.2) across sessions and
processes, subscriptions apart from mailboxes (RFC 5258 \\NonExistent, CHILDINFO),
SORT keys (RFC 5256, RFC 5957), THREAD=REFERENCES, ENVELOPE defaults, SEARCH FROM on
parsed addresses, and APPEND of binary parts (RFC 3516).

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_conformance.py
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import run_tests  # noqa: E402
from test_imap import PW, USER, ImapEnv, Raw  # noqa: E402


def login(env):
    r = Raw(env.port("imap"))
    out = r.cmd("l", f'LOGIN {USER} "{PW}"')
    assert out[-1].startswith("l OK"), out
    return r


def tagged_ok(out, tag):
    assert out and out[-1].startswith(tag + " OK"), out
    return out


def has(out, pattern):
    return any(re.search(pattern, l, re.I) for l in out)


def search(r, tag, what):
    out = tagged_ok(r.cmd(tag, "SEARCH " + what), tag)
    line = [l for l in out if l.upper().startswith("* SEARCH")][0]
    return [int(x) for x in line.split()[2:]]


def flags_of(r, tag, seq):
    out = tagged_ok(r.cmd(tag, f"FETCH {seq} (FLAGS)"), tag)
    m = re.search(r"FLAGS \(([^)]*)\)", [l for l in out if " FETCH " in l][0])
    return m.group(1).split()


MSG = b"From: bob@example.net\r\nSubject: s%d\r\n\r\nbody %d\r\n"


def test_recent_select_examine_status_search():
    with ImapEnv() as env:
        env.setup(messages=[MSG % (1, 1), MSG % (2, 2)])
        a = login(env)
        # EXAMINE shows what nobody has claimed yet, without taking it.
        out = tagged_ok(a.cmd("e", "EXAMINE INBOX"), "e")
        assert has(out, r"^\* 2 RECENT"), out
        tagged_ok(a.cmd("c", "CLOSE"), "c")
        out = tagged_ok(a.cmd("s", "STATUS INBOX (MESSAGES RECENT)"), "s")
        assert has(out, r"MESSAGES 2 RECENT 2"), out
        # The first read-write SELECT takes them.
        out = tagged_ok(a.cmd("s1", "SELECT INBOX"), "s1")
        assert has(out, r"^\* 2 RECENT"), out
        assert search(a, "r1", "RECENT") == [1, 2]
        assert search(a, "r2", "NEW") == [1, 2]
        assert search(a, "r3", "OLD") == []
        assert "\\Recent" in flags_of(a, "f1", 1)
        tagged_ok(a.cmd("st", "STORE 1 +FLAGS (\\Seen)"), "st")
        assert search(a, "r4", "NEW") == [2]
        # STORE FLAGS cannot take \Recent away (it is not a stored flag).
        out = tagged_ok(a.cmd("st2", "STORE 2 FLAGS (\\Flagged)"), "st2")
        assert has(out, r"FLAGS \([^)]*\\Recent"), out

        b = login(env)
        out = tagged_ok(b.cmd("s2", "SELECT INBOX"), "s2")
        assert has(out, r"^\* 0 RECENT"), out
        assert "\\Recent" not in flags_of(b, "f2", "1:2")
        assert search(b, "r5", "RECENT") == []
        assert search(b, "r6", "OLD") == [1, 2]
        c = login(env)
        out = tagged_ok(c.cmd("s3", "STATUS INBOX (RECENT)"), "s3")
        assert has(out, r"RECENT 0"), out

        # New mail from another process: the first selected session to look takes it.
        env.deliver(USER, MSG % (3, 3))
        out = tagged_ok(b.cmd("n1", "NOOP"), "n1")
        assert has(out, r"^\* 3 EXISTS") and has(out, r"^\* 1 RECENT"), out
        assert "\\Recent" in flags_of(b, "f3", 3)
        out = tagged_ok(a.cmd("n2", "NOOP"), "n2")
        assert has(out, r"^\* 3 EXISTS") and has(out, r"^\* 2 RECENT"), out
        assert "\\Recent" not in flags_of(a, "f4", 3)
        assert search(a, "r7", "RECENT") == [1, 2]
        for r in (a, b, c):
            r.close()


def test_recent_copy_and_append_into_selected_mailbox():
    with ImapEnv() as env:
        env.setup(messages=[MSG % (1, 1), MSG % (2, 2), MSG % (3, 3)])
        one = login(env)
        tagged_ok(one.cmd("c", "CREATE Work"), "c")
        two = login(env)
        out = tagged_ok(two.cmd("s", "SELECT Work"), "s")
        assert has(out, r"^\* 0 EXISTS"), out
        tagged_ok(one.cmd("s1", "SELECT INBOX"), "s1")
        tagged_ok(one.cmd("cp", "COPY 1,3 Work"), "cp")
        out = tagged_ok(two.cmd("n", "NOOP"), "n")
        assert has(out, r"^\* 2 EXISTS") and has(out, r"^\* 2 RECENT"), out
        assert "\\Recent" in flags_of(two, "f", "1")
        # APPEND into the session's own selected mailbox: \Recent there.
        msg = b"Subject: appended\r\n\r\nx\r\n"
        two.send(b"ap APPEND Work {%d+}\r\n" % len(msg) + msg + b"\r\n")
        out = tagged_ok(two.until("ap"), "ap")
        assert has(out, r"^\* 3 EXISTS") and has(out, r"^\* 3 RECENT"), out
        assert search(two, "r", "RECENT") == [1, 2, 3]
        # A COPY within the selected mailbox: the copies are \Recent here too.
        out = tagged_ok(two.cmd("cp2", "COPY 1 Work"), "cp2")
        assert has(out, r"^\* 4 EXISTS") and has(out, r"^\* 4 RECENT"), out
        one.close()
        two.close()


def test_recent_not_in_imap4rev2_sessions():
    with ImapEnv() as env:
        env.setup(messages=[MSG % (1, 1)])
        a = login(env)
        tagged_ok(a.cmd("en", "ENABLE IMAP4rev2"), "en")
        out = tagged_ok(a.cmd("s", "SELECT INBOX"), "s")
        assert not has(out, r"RECENT"), out
        assert "\\Recent" not in flags_of(a, "f", 1)
        # The IMAP4rev2 session took nothing: an IMAP4rev1 session still gets it.
        b = login(env)
        out = tagged_ok(b.cmd("s", "SELECT INBOX"), "s")
        assert has(out, r"^\* 1 RECENT"), out
        a.close()
        b.close()


def test_subscriptions_outlive_their_mailbox():
    with ImapEnv() as env:
        env.setup(messages=[])
        r = login(env)
        for name in ("t/one", "t/gone", "t/p/c", "t/q/c"):
            tagged_ok(r.cmd("c", "CREATE " + name), "c")
        for name in ("t/one", "t/gone", "t/p/c", "t/q/c"):
            tagged_ok(r.cmd("u", "SUBSCRIBE " + name), "u")
        tagged_ok(r.cmd("d", "DELETE t/gone"), "d")
        # RFC 5258: the name stays subscribed, listed \NonExistent (never \Noselect).
        out = tagged_ok(r.cmd("l1", 'LIST (SUBSCRIBED) "" "t/*"'), "l1")
        gone = [l for l in out if "t/gone" in l]
        assert len(gone) == 1 and "\\NonExistent" in gone[0] and "\\Subscribed" in gone[0], out
        assert "\\Noselect" not in gone[0], gone
        assert has(out, r'\\Subscribed\) "/" t/one')
        out = tagged_ok(r.cmd("l2", 'LIST "" "t/*"'), "l2")
        assert not has(out, "t/gone"), out
        out = tagged_ok(r.cmd("l3", 'LSUB "" "t/*"'), "l3")
        assert has(out, r'^\* LSUB \(\\Noselect\) "/" t/gone'), out
        out = tagged_ok(r.cmd("l4", 'LSUB "" "t/%"'), "l4")
        assert has(out, r'^\* LSUB \(\\Noselect\) "/" t/p') and has(out, r'^\* LSUB \(\) "/" t/one'), out
        # RECURSIVEMATCH: CHILDINFO only for descendants the patterns do not list.
        out = tagged_ok(r.cmd("l5", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (t/p)'), "l5")
        assert has(out, r'"/" t/p \("CHILDINFO" \("SUBSCRIBED"\)\)'), out
        out = tagged_ok(r.cmd("l6", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (t/p t/p/c)'), "l6")
        assert not has(out, r'"/" t/p( |\r)'), out
        assert has(out, r'\\Subscribed\) "/" t/p/c'), out
        # A mailbox created again under the name is subscribed already; UNSUBSCRIBE of a
        # name without a mailbox works.
        tagged_ok(r.cmd("c2", "CREATE t/gone"), "c2")
        out = tagged_ok(r.cmd("l7", 'LIST "" "t/gone" RETURN (SUBSCRIBED)'), "l7")
        assert has(out, r"\\Subscribed"), out
        tagged_ok(r.cmd("d2", "DELETE t/gone"), "d2")
        tagged_ok(r.cmd("un", "UNSUBSCRIBE t/gone"), "un")
        out = tagged_ok(r.cmd("l8", 'LIST (SUBSCRIBED) "" "t/*"'), "l8")
        assert not has(out, "t/gone"), out
        # RENAME carries the subscriptions of the mailbox and its children.
        tagged_ok(r.cmd("rn", "RENAME t/q t/r"), "rn")
        out = tagged_ok(r.cmd("l9", 'LSUB "" "t/*"'), "l9")
        assert has(out, r'"/" t/r/c') and not has(out, r'"/" t/q/c'), out
        r.close()


def append(r, tag, msg, literal8=False):
    r.send(b"%s APPEND INBOX %s{%d+}\r\n" % (tag.encode(), b"~" if literal8 else b"", len(msg)) + msg + b"\r\n")
    return tagged_ok(r.until(tag), tag)


def test_sort_keys_thread_envelope_search():
    with ImapEnv() as env:
        env.setup(messages=[])
        r = login(env)
        # SORT (CC): the first address as ENVELOPE has it; a group's name counts.
        for cc in (b"user2@domain2.org (foo bar)", b"user2: blah@domain1.org;", b"user1@domain1.org"):
            append(r, "a", b"Subject: x\r\nCc: " + cc + b"\r\n\r\nx\r\n")
        tagged_ok(r.cmd("s", "SELECT INBOX"), "s")
        out = tagged_ok(r.cmd("o1", "SORT (CC) US-ASCII ALL"), "o1")
        assert has(out, r"^\* SORT 3 1 2\r"), out
        out = tagged_ok(r.cmd("o2", "SORT (REVERSE CC) US-ASCII ALL"), "o2")
        assert has(out, r"^\* SORT 1 2 3\r"), out
        tagged_ok(r.cmd("x", "STORE 1:* +FLAGS (\\Deleted)"), "x")
        tagged_ok(r.cmd("x2", "EXPUNGE"), "x2")
        # SORT (DISPLAYTO), RFC 5957: display name, else the address; groups by name.
        for to in (b"foo bar <a@b.c>", b"b@c.d", b"=?iso-8859-1?q?foo_aar?= <e@f.g>", b"a: xx@xx.org;",
                   b"z: aa@aa.org;"):
            append(r, "a", b"Subject: x\r\nTo: " + to + b"\r\n\r\nx\r\n")
        out = tagged_ok(r.cmd("o3", "SORT (DISPLAYTO) US-ASCII ALL"), "o3")
        assert has(out, r"^\* SORT 4 2 3 1 5\r"), out
        tagged_ok(r.cmd("x3", "STORE 1:* +FLAGS (\\Deleted)"), "x3")
        tagged_ok(r.cmd("x4", "EXPUNGE"), "x4")
        # SORT (SUBJECT): base subjects compared upper-cased: "[xyz]" and "_" after letters.
        for subj in (b"_", b"[xyz]", b"Re: [FWD: c]", b"b", b"a"):
            append(r, "a", b"Subject: " + subj + b"\r\n\r\nx\r\n")
        out = tagged_ok(r.cmd("o4", "SORT (SUBJECT) US-ASCII ALL"), "o4")
        assert has(out, r"^\* SORT 5 4 3 2 1\r"), out
        tagged_ok(r.cmd("x5", "STORE 1:* +FLAGS (\\Deleted)"), "x5")
        tagged_ok(r.cmd("x6", "EXPUNGE"), "x6")
        # THREAD=REFERENCES: a message's own References replace a guessed parent.
        append(r, "a", b"Message-ID: <a@b>\r\nDate: Fri, 22 Feb 2008 17:06:23 +0000\r\n\r\nx\r\n")
        append(r, "a", b"Message-Id: <b@b>\r\nReferences: <a@b> <c@b>\r\nDate: Fri, 22 Feb 2008 15:06:23 +0000\r\n"
                       b"\r\nx\r\n")
        append(r, "a", b"Message-Id: <c@b>\r\nReferences: <b@b>\r\nDate: Fri, 22 Feb 2008 16:06:25 +0000\r\n\r\nx\r\n")
        out = tagged_ok(r.cmd("t", "THREAD REFERENCES US-ASCII ALL"), "t")
        assert has(out, r"^\* THREAD \(3 2\)\(1\)\r"), out
        tagged_ok(r.cmd("x7", "STORE 1:* +FLAGS (\\Deleted)"), "x7")
        tagged_ok(r.cmd("x8", "EXPUNGE"), "x8")
        # ENVELOPE: empty Sender / Reply-To fall back to From. SEARCH FROM on the parsed
        # address (comments inside the addr-spec removed).
        append(r, "a", b"From: user@domain (Real Name)\r\nSender: \r\nReply-To: \r\n\r\nx\r\n")
        append(r, "a", b"From: <user-from (comment)@ (comment) domain.org>\r\n\r\nx\r\n")
        out = tagged_ok(r.cmd("e", "FETCH 1 ENVELOPE"), "e")
        addr = r'\(\("Real Name" NIL "user" "domain"\)\)'
        assert has(out, addr + " " + addr + " " + addr), out
        assert search(r, "f", "FROM user-from@domain.org") == [2]
        r.close()


def test_append_binary_part():
    with ImapEnv() as env:
        env.setup(messages=[])
        r = login(env)
        data = b"\x00-\xe4\n\r\n\n"
        msg = (b"From: user@domain.org\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + data)
        append(r, "a", msg, literal8=True)
        tagged_ok(r.cmd("s", "SELECT INBOX"), "s")
        # BODY[1] is an IMAP string: no NUL, the part stored base64-encoded.
        r.send(b"f1 FETCH 1 (BODY.PEEK[1])\r\n")
        head = r.line()
        m = re.search(r"BODY\[1\] \{(\d+)\}\r\n$", head)
        assert m, head
        body = r.f.read(int(m.group(1)))
        assert b"\x00" not in body and body.strip() == b"AC3kCg0KCg==", body
        tagged_ok(r.until("f1"), "f1")
        # BINARY[1] gives the octets back (literal8: they hold NUL).
        r.send(b"f2 FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n")
        head = r.line()
        assert "BINARY.SIZE[1] 7" in head, head
        m = re.search(r"BINARY\[1\] ~\{(\d+)\}\r\n$", head)
        assert m, head
        assert r.f.read(int(m.group(1))) == data
        tagged_ok(r.until("f2"), "f2")
        r.close()


if __name__ == "__main__":
    run_tests([
        test_recent_select_examine_status_search,
        test_recent_copy_and_append_into_selected_mailbox,
        test_recent_not_in_imap4rev2_sessions,
        test_subscriptions_outlive_their_mailbox,
        test_sort_keys_thread_envelope_search,
        test_append_binary_part,
    ])
