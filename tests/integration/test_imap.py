"""tern-imapd with real clients: Python imaplib for the commands and extensions, raw
lines for literals, limits, bad input and STARTTLS; several sessions (and tern-deliver,
another process) changing one mailbox.

Mail is put in with build/bin/tern-deliver (through the store API), byte for byte.
Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap.py
"""
import imaplib
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402

imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
imaplib.Commands.setdefault("ENABLE", ("AUTH",))

USER = "alice@example.test"
PW = "correct horse"

MSG1 = (b"From: Bob <bob@example.net>\r\nTo: alice@example.test\r\nSubject: first one\r\n"
        b"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\n"
        b"Hello Alice.\r\nThis is the body, with a word: pineapple.\r\n")
MSG2 = b"From: carol@example.net\r\nSubject: second\r\n\r\nline\r\n"
MSG3 = b"Subject: big\r\n\r\n" + b"".join(b"line %d %s\r\n" % (i, b"x" * (i % 70)) for i in range(3000))


class ImapEnv(TernEnv):
    def __init__(self, plaintext=True, limits="", imap_extra=""):
        lines = []
        if plaintext:
            lines.append("allow_plaintext_auth = true")
        if imap_extra:
            lines.append(imap_extra)
        super().__init__(listeners=["imap", "imaps"], limits=limits,
                         sections={"imap": "\n".join(lines)} if lines else {})

    def setup(self, messages=(MSG1, MSG2, MSG3)):
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
        for m in messages:
            self.deliver(USER, m)
        self.start("tern-imapd")
        return self

    def deliver(self, addr, body, mailbox=None):
        args = [self.bin("tern-deliver"), "--config", self.config_path, addr]
        p = subprocess.run(args, input=body, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return int(p.stdout.split()[1])

    def imap(self, tls=False):
        if tls:
            return imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=client_tls_context(),
                                     timeout=20)
        return imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=20)

    def login(self, tls=False):
        m = self.imap(tls)
        m.login(USER, PW)
        return m


class Raw:
    """Line-level client: send bytes, read responses up to a tagged line."""

    def __init__(self, port, tls=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        if tls:
            s = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
        self.s = s
        self.f = s.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().decode("latin-1")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.s.sendall(data)

    def until(self, tag):
        out = []
        while True:
            l = self.line()
            if l == "":
                return out
            out.append(l)
            if l.startswith(tag + " "):
                return out

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def ok(r):
    typ, data = r
    assert typ == "OK", r
    return data


def fetch_map(data):
    """imaplib FETCH data -> {seq: bytes of the literal or the line}"""
    out = {}
    for d in data:
        if isinstance(d, tuple):
            seq = int(d[0].split()[0])
            out[seq] = d
    return out


# ---------------------------------------------------------------------------------

def test_login_list_select_fetch():
    with ImapEnv() as env:
        env.setup()
        m = env.imap()
        assert b"IMAP4rev2" in m.welcome and b"AUTH=PLAIN" in m.welcome
        assert "STARTTLS" in m.capabilities and "LOGINDISABLED" not in m.capabilities
        typ, data = m.login(USER, PW)
        assert typ == "OK" and b"UIDPLUS" in data[0] and b"MOVE" in data[0]
        names = [l.decode() for l in ok(m.list())]
        assert '(\\HasNoChildren) "/" INBOX' in names, names
        assert '(\\HasNoChildren \\Sent) "/" Sent' in names, names
        assert ok(m.select("INBOX")) == [b"3"]
        assert m.untagged_responses.get("UIDVALIDITY")
        data = ok(m.fetch("1:3", "(UID RFC822.SIZE FLAGS BODY.PEEK[])"))
        got = fetch_map(data)
        for seq, msg in ((1, MSG1), (2, MSG2), (3, MSG3)):
            head, body = got[seq]
            assert body == msg, (seq, body[:80])
            assert b"RFC822.SIZE %d" % len(msg) in head
            assert b"FLAGS (\\Recent)" in head  # the first SELECT since delivery (RFC 3501 §2.3.2)
        # BODY[] (not PEEK) sets \Seen and says so.
        data = ok(m.fetch("2", "(BODY[])"))
        assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in data), data
        data = ok(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject FROM)] BODY.PEEK[TEXT]<0.5>)"))
        flat = data[0][1] if isinstance(data[0], tuple) else b""
        assert flat == b"From: Bob <bob@example.net>\r\nSubject: first one\r\n\r\n", data
        assert any(isinstance(x, tuple) and x[1] == b"Hello" for x in data), data
        ok(m.close())
        m.logout()


def test_logindisabled_before_tls_and_starttls():
    with ImapEnv(plaintext=False) as env:
        env.setup()
        m = env.imap()
        assert "LOGINDISABLED" in m.capabilities and "AUTH=PLAIN" not in m.capabilities
        try:
            m.login(USER, PW)
            raise AssertionError("LOGIN before TLS must fail")
        except imaplib.IMAP4.error as e:
            assert "PRIVACYREQUIRED" in str(e), e
        ok(m.starttls(ssl_context=client_tls_context()))
        m._get_capabilities()
        assert "LOGINDISABLED" not in m.capabilities and "STARTTLS" not in m.capabilities
        ok(m.login(USER, PW))
        m.logout()
        # IMAPS
        m = env.login(tls=True)
        assert ok(m.select("INBOX")) == [b"3"]
        m.logout()


def test_starttls_discards_pipelined_commands():
    with ImapEnv(plaintext=False) as env:
        env.setup()
        s = socket.create_connection(("127.0.0.1", env.port("imap")), timeout=20)
        f = s.makefile("rb")
        f.readline()
        # RFC 3501 §6.2.1 / design §6: what is pipelined behind STARTTLS is never run.
        s.sendall(b"a STARTTLS\r\nb LOGIN " + USER.encode() + b' "' + PW.encode() + b'"\r\n')
        assert f.readline().startswith(b"a OK")
        t = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
        tf = t.makefile("rb")
        t.sendall(b"c SELECT INBOX\r\n")
        assert tf.readline().startswith(b"c BAD"), "pipelined LOGIN must have been discarded"
        t.close()


def test_literals_and_limits():
    with ImapEnv(limits='message_size = "64K"') as env:
        env.setup()
        r = Raw(env.port("imap"))
        # Synchronizing literal: "+" only after the limits were checked.
        r.send(b"a1 LOGIN {%d}\r\n" % len(USER))
        assert r.line().startswith("+ ")
        r.send(USER.encode() + b" {%d+}\r\n" % len(PW) + PW.encode() + b"\r\n")
        assert r.until("a1")[-1].startswith("a1 OK")
        # A literal over the message size: NO before any "+" (no continuation asked).
        r.send(b"a2 APPEND INBOX {70000}\r\n")
        l = r.line()
        assert l.startswith("a2 NO [TOOBIG]"), l
        # A LOGIN-sized literal bound: non-APPEND literals stay within the line limit.
        r.send(b"a3 SELECT {100000}\r\n")
        assert r.line().startswith("a3 NO [TOOBIG]")
        # APPEND with flags, date and LITERAL+.
        msg = b"Subject: appended\r\n\r\nsaved to Sent\r\n"
        r.send(b'a4 APPEND Sent (\\Seen $Label1) "05-Jan-2026 10:11:12 +0100" {%d+}\r\n' % len(msg) + msg + b"\r\n")
        resp = r.until("a4")[-1]
        m = re.match(r"a4 OK \[APPENDUID (\d+) (\d+)\]", resp)
        assert m, resp
        out = r.cmd("a5", "EXAMINE Sent")
        assert any("1 EXISTS" in l for l in out), out
        r.send(b"a6 FETCH 1 (FLAGS INTERNALDATE BODY[])\r\n")
        lines = r.line()
        assert '"05-Jan-2026 09:11:12 +0000"' in lines and "$Label1" in lines and "\\Seen" in lines, lines
        body = r.f.read(len(msg))
        assert body == msg
        assert r.until("a6")[-1].startswith("a6 OK")
        # Bad input gets BAD with a reason; the session goes on.
        assert r.cmd("a7", "FETCH 1 (FLAGS")[-1].startswith("a7 BAD")
        assert r.cmd("a8", "FROB")[-1] == "a8 BAD Unknown command\r\n"
        assert r.cmd("a9", 'LOGIN "unterminated')[-1].startswith("a9 BAD")
        r.send(b"\x01\x02junk\r\n")
        assert r.line().startswith("* BAD")
        assert r.cmd("a10", "NOOP")[-1].startswith("a10 OK")
        r.close()


def test_garbage_disconnects():
    with ImapEnv(limits="error_limit = 5") as env:
        env.setup()
        r = Raw(env.port("imap"))
        for i in range(5):
            r.send(b"x%d GARBAGE(\r\n" % i)
        lines = [r.line() for _ in range(6)]
        assert lines[-1].startswith("* BYE"), lines
        assert r.line() == ""  # closed
        r.close()


def test_store_search_expunge_uidplus_move():
    with ImapEnv() as env:
        env.setup()
        m = env.login()
        ok(m.select("INBOX"))
        ok(m.store("1", "+FLAGS", "(\\Flagged $Work)"))
        assert ok(m.search(None, "FLAGGED")) == [b"1"]
        assert ok(m.search(None, "KEYWORD", "$Work")) == [b"1"]
        assert ok(m.search(None, "SUBJECT", "second")) == [b"2"]
        assert ok(m.search(None, "BODY", "pineapple")) == [b"1"]
        assert ok(m.search(None, "OR", "FLAGGED", "LARGER", "10000")) == [b"1 3"]
        assert ok(m.search(None, "NOT", "FLAGGED", "UNSEEN")) == [b"2 3"]
        assert ok(m.search(None, "HEADER", "Message-ID", "1@example")) == [b"1"]
        assert ok(m.search(None, "2:*")) == [b"2 3"]
        assert ok(m.uid("SEARCH", "UID", "1:2")) == [b"1 2"]
        assert ok(m.search("UTF-8", "TEXT", "Alice")) == [b"1"]
        assert ok(m.search("KOI8-R", "TEXT", "Alice")) == [b"1"]
        typ, data = m.search("X-NO-SUCH-CHARSET", "TEXT", "a")
        assert typ == "NO" and b"BADCHARSET" in data[0], data
        # SORT and THREAD on the same engine.
        typ, data = m._simple_command("SORT", "(REVERSE SIZE)", "UTF-8", "ALL")
        assert typ == "OK" and m.untagged_responses.pop("SORT") == [b"3 1 2"]
        typ, data = m._simple_command("SORT", "(SUBJECT)", "UTF-8", "ALL")
        assert m.untagged_responses.pop("SORT") == [b"3 1 2"]  # big, first one, second
        typ, data = m._simple_command("THREAD", "REFERENCES", "UTF-8", "ALL")
        assert typ == "OK" and m.untagged_responses.pop("THREAD") == [b"(1)(2)(3)"]
        # ENVELOPE and BODYSTRUCTURE (tern::mime).
        data = ok(m.fetch("1", "(ENVELOPE BODYSTRUCTURE)"))
        flat = data[0] if isinstance(data[0], bytes) else data[0][0]
        assert b'"first one"' in flat and b'(("Bob" NIL "bob" "example.net"))' in flat, flat
        assert b'BODYSTRUCTURE ("text" "plain"' in flat, flat
        # ESEARCH
        typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
        assert typ == "OK"
        es = m.untagged_responses.pop("ESEARCH")[0]
        assert b"MIN 1 MAX 3 COUNT 3" in es, es
        # COPY with COPYUID, MOVE, UID EXPUNGE.
        ok(m.uid("COPY", "1", "Archive"))
        assert m.untagged_responses.pop("COPYUID")[0].split()[1:] == [b"1", b"1"]
        typ, data = m._simple_command("UID", "MOVE", "2", "Trash")
        assert typ == "OK"
        assert m.untagged_responses.pop("EXPUNGE") == [b"2"]
        ok(m.store("1:2", "+FLAGS", "(\\Deleted)"))
        typ, data = m._simple_command("UID", "EXPUNGE", "3")
        assert typ == "OK"
        assert m.untagged_responses.pop("EXPUNGE") == [b"2"]  # uid 3 was seq 2
        assert ok(m.uid("SEARCH", "ALL")) == [b"1"]
        ok(m.expunge())
        assert ok(m.search(None, "ALL")) == [b""]
        ok(m.select("Trash"))
        assert ok(m.uid("FETCH", "1:*", "(BODY.PEEK[])"))[0][1] == MSG2
        m.logout()
        assert sorted(env.mailbox(USER, "Archive").values()) == [MSG1]


def test_mailbox_management():
    with ImapEnv() as env:
        env.setup()
        m = env.login()
        ok(m.create("Work/Projects"))
        typ, data = m.create("Work")
        assert typ == "NO" and b"ALREADYEXISTS" in data[0]
        names = [l.decode() for l in ok(m.list('""', "Work*"))]
        assert names == ['(\\HasChildren) "/" Work', '(\\HasNoChildren) "/" Work/Projects'], names
        assert [l.decode() for l in ok(m.list('""', "%"))].count('(\\HasChildren) "/" Work') == 1
        ok(m.rename("Work", "Job"))
        names = [l.decode() for l in ok(m.list('""', "Job/%"))]
        assert names == ['(\\HasNoChildren) "/" Job/Projects'], names
        ok(m.subscribe("Job/Projects"))
        assert b'"/" Job/Projects' in b" ".join(ok(m.lsub('""', "Job/*")))
        ok(m.unsubscribe("Job/Projects"))
        ok(m.delete("Job/Projects"))
        typ, data = m.delete("INBOX")
        assert typ == "NO"
        typ, data = m.select("Nope")
        assert typ == "NO" and b"NONEXISTENT" in data[0]
        # CREATE-SPECIAL-USE, LIST-EXTENDED with RETURN (SPECIAL-USE STATUS).
        typ, data = m._simple_command("CREATE", "Old", "(USE (\\Archive))")
        assert typ == "OK"
        typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*", "RETURN", "(STATUS (MESSAGES UNSEEN))")
        assert typ == "OK"
        lst = b" ".join(m.untagged_responses.pop("LIST"))
        assert b"\\Sent" in lst and b"INBOX" not in lst and b"Old" in lst, lst
        st = m.untagged_responses.pop("STATUS")
        assert any(b"MESSAGES 0" in x for x in st), st
        assert ok(m.status("INBOX", "(MESSAGES UIDNEXT UNSEEN SIZE DELETED)"))[0].startswith(
            b'INBOX (MESSAGES 3 UIDNEXT 4 UNSEEN 3 SIZE %d DELETED 0)' % (len(MSG1) + len(MSG2) + len(MSG3)))
        # LIST with many wildcards stays fast (bounded matcher).
        t0 = time.time()
        typ, data = m.list('""', "*%" * 2000 + "x")
        assert typ == "OK" and time.time() - t0 < 2
        m.logout()


def test_several_sessions_see_changes():
    with ImapEnv() as env:
        env.setup()
        a = env.login()
        b = env.login()
        ok(a.select("INBOX"))
        ok(b.select("INBOX"))
        a.untagged_responses.clear()
        # b flags and expunges; a learns at NOOP with correct sequence numbers.
        ok(b.store("2", "+FLAGS", "(\\Seen)"))
        ok(a.noop())
        fetches = a.untagged_responses.pop("FETCH", [])
        # a selected first: the messages are \Recent in a (and not in b).
        assert any(re.match(rb"2 \(UID 2 FLAGS \(\\Seen \\Recent\)", f) for f in fetches), fetches
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        env.deliver(USER, b"Subject: new\r\n\r\nnew\r\n")
        ok(a.noop())
        assert a.untagged_responses.pop("EXPUNGE") == [b"1"], a.untagged_responses
        assert a.untagged_responses.pop("EXISTS") == [b"3"], a.untagged_responses
        data = ok(a.fetch("1:*", "(UID)"))
        assert [d for d in data] == [b"1 (UID 2)", b"2 (UID 3)", b"3 (UID 4)"], data
        # No EXPUNGE during FETCH (RFC 9051 §7.5.1): reported at the next NOOP.
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        data = ok(a.fetch("1:*", "(FLAGS)"))
        assert "EXPUNGE" not in a.untagged_responses
        ok(a.noop())
        assert a.untagged_responses.pop("EXPUNGE") == [b"1"]
        a.logout()
        b.logout()


def test_idle_sees_delivery_within_1s():
    with ImapEnv() as env:
        env.setup()
        m = env.login()
        ok(m.select("INBOX"))
        tag = m._new_tag().decode()
        m.send(f"{tag} IDLE\r\n".encode())
        assert m.readline().startswith(b"+ ")
        t0 = time.time()
        env.deliver(USER, b"Subject: pushed\r\n\r\nnow\r\n")
        line = m.readline()
        elapsed = time.time() - t0
        assert line == b"* 4 EXISTS\r\n", line
        assert elapsed < 1.0, elapsed
        # The idler is the first to see it: \Recent here (RFC 3501 §7.3.2 RECENT).
        assert m.readline() == b"* 4 RECENT\r\n"
        # Another session's flag change also reaches the idler.
        b = env.login()
        ok(b.select("INBOX"))
        ok(b.store("1", "+FLAGS", "(\\Answered)"))
        line = m.readline()
        assert line.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))"), line
        m.send(b"DONE\r\n")
        assert m.readline().startswith(tag.encode() + b" OK")
        m.logout()
        b.logout()


def test_condstore_qresync_resync():
    with ImapEnv() as env:
        env.setup()
        m = env.login()
        typ, data = m._simple_command("ENABLE", "QRESYNC")
        assert typ == "OK" and m.untagged_responses.pop("ENABLED") == [b"QRESYNC"]
        ok(m.select("INBOX"))
        uidvalidity = int(m.untagged_responses["UIDVALIDITY"][0])
        hms = int(m.untagged_responses["HIGHESTMODSEQ"][0])
        m.logout()
        # Another session changes things while the first is away.
        b = env.login()
        ok(b.select("INBOX"))
        ok(b.store("3", "+FLAGS", "(\\Flagged)"))
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        # Conditional STORE: UNCHANGEDSINCE older than the message's MODSEQ fails.
        typ, data = b._simple_command("STORE", "1", "(UNCHANGEDSINCE 1)", "+FLAGS", "(\\Seen)")
        assert typ == "OK" and b"[MODIFIED 1]" in data[0], data
        b.logout()
        m = env.login()
        m._simple_command("ENABLE", "QRESYNC")
        typ, data = m._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity} {hms}))")
        assert typ == "OK"
        m.state = "SELECTED"
        assert m.untagged_responses.pop("VANISHED") == [b"(EARLIER) 1"]
        fetches = m.untagged_responses.pop("FETCH")
        assert len(fetches) == 1 and b"UID 3" in fetches[0] and b"\\Flagged" in fetches[0], fetches
        # FETCH CHANGEDSINCE and UID FETCH VANISHED.
        typ, data = m._simple_command("UID", "FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {hms} VANISHED)")
        assert typ == "OK"
        assert m.untagged_responses.pop("VANISHED") == [b"(EARLIER) 1"]
        m.logout()


def test_authenticate_compress_id_namespace_quota():
    with ImapEnv() as env:
        env.setup()
        env.ctl("user", "quota", USER, "10M")
        m = env.imap()
        import base64
        typ, data = m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PW}".encode())
        assert typ == "OK"
        typ, data = m._simple_command("ID", '("name" "test")')
        assert typ == "OK" and b'"name" "tern"' in m.untagged_responses.pop("ID")[0]
        typ, data = m.namespace()
        assert data == [b'(("" "/")) NIL NIL']
        typ, data = m.getquotaroot("INBOX")
        assert typ == "OK", data
        assert data[1][0].startswith(b'"" (STORAGE '), data
        m.logout()
        # SASL-IR in one line, then COMPRESS=DEFLATE over a raw socket.
        r = Raw(env.port("imap"))
        ir = base64.b64encode(f"\0{USER}\0{PW}".encode()).decode()
        assert r.cmd("a1", "AUTHENTICATE PLAIN " + ir)[-1].startswith("a1 OK")
        assert r.cmd("a2", "COMPRESS DEFLATE")[-1].startswith("a2 OK")
        comp = zlib.compressobj(wbits=-15)
        dec = zlib.decompressobj(wbits=-15)
        r.s.sendall(comp.compress(b"a3 SELECT INBOX\r\na4 FETCH 2 BODY.PEEK[]\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
        buf = b""
        while b"a4 OK" not in buf:
            chunk = r.s.recv(65536)
            assert chunk
            buf += dec.decompress(chunk)
        assert b"* 3 EXISTS" in buf and MSG2 in buf, buf[:300]
        r.close()


def test_wrong_password_and_states():
    with ImapEnv() as env:
        env.setup()
        m = env.imap()
        try:
            m.login(USER, "wrong")
            raise AssertionError("wrong password accepted")
        except imaplib.IMAP4.error as e:
            assert "AUTHENTICATIONFAILED" in str(e)
        r = Raw(env.port("imap"))
        assert r.cmd("a1", "SELECT INBOX")[-1].startswith("a1 BAD")
        assert r.cmd("a2", "LOGIN " + USER + ' "' + PW + '"')[-1].startswith("a2 OK")
        assert r.cmd("a3", "FETCH 1 FLAGS")[-1] == "a3 BAD No mailbox selected\r\n"
        assert r.cmd("a4", "LOGIN x y")[-1].startswith("a4 BAD")
        out = r.cmd("a5", "EXAMINE INBOX")
        assert out[-1].startswith("a5 OK [READ-ONLY]")
        assert r.cmd("a6", "STORE 1 +FLAGS (\\Seen)")[-1].startswith("a6 NO")
        assert r.cmd("a7", "FETCH 99 FLAGS")[-1].startswith("a7 BAD")
        assert r.cmd("a8", "UID FETCH 99 FLAGS")[-1].startswith("a8 OK")
        out = r.cmd("a9", "LOGOUT")
        assert out[0].startswith("* BYE") and out[-1].startswith("a9 OK")
        r.close()


if __name__ == "__main__":
    run_tests([
        test_login_list_select_fetch,
        test_logindisabled_before_tls_and_starttls,
        test_starttls_discards_pipelined_commands,
        test_literals_and_limits,
        test_garbage_disconnects,
        test_store_search_expunge_uidplus_move,
        test_mailbox_management,
        test_several_sessions_see_changes,
        test_idle_sees_delivery_within_1s,
        test_condstore_qresync_resync,
        test_authenticate_compress_id_namespace_quota,
        test_wrong_password_and_states,
    ])
