"""tern-pop3d with real clients: Python poplib for every command, raw lines for AUTH
and bad input, STLS and POP3S, IN-USE, DELE semantics, throttled wrong passwords.

Mail is put in with build/bin/tern-deliver (through the store API), byte for byte.
Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_pop3.py
"""
import base64
import os
import poplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, TernEnv, client_tls_context, run_tests  # noqa: E402

USER = "alice@example.test"
PW = "correct horse"
USER2 = "bob@example.test"
PW2 = "battery staple"

MSG1 = b"From: x@example.net\r\nSubject: one\r\n\r\nHello.\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
MSG2 = b"Subject: lf only\n\nline1\n.dot\nno final newline"
MSG3 = b"Subject: three\r\n\r\n" + b"".join(b"line %d %s\r\n" % (i, b"x" * (i % 70)) for i in range(400))


def pop3_form(raw):
    """What RETR must return before dot-stuffing: every line end CRLF, final CRLF."""
    if not raw:
        return b""
    s = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not s.endswith(b"\r\n"):
        s += b"\r\n"
    return s


class Pop3Env(TernEnv):
    def __init__(self, plaintext=True, limits="", pop3_extra=""):
        lines = []
        if plaintext:
            lines.append("allow_plaintext_auth = true")
        if pop3_extra:
            lines.append(pop3_extra)
        super().__init__(listeners=["pop3", "pop3s"], limits=limits,
                         sections={"pop3": "\n".join(lines)} if lines else {})

    def setup(self, messages=(MSG1, MSG2, MSG3), extra_env=None):
        self.ctl("domain", "add", "example.test")
        self.ctl("user", "add", USER, "--password-stdin", input=PW + "\n")
        self.ctl("user", "add", USER2, "--password-stdin", input=PW2 + "\n")
        self.uids = [self.deliver(USER, m) for m in messages]
        self.start("tern-pop3d", extra_env=extra_env)
        return self

    def deliver(self, addr, body):
        p = subprocess.run([self.bin("tern-deliver"), "--config", self.config_path, addr],
                           input=body, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr
        v, u = p.stdout.split()
        return int(v), int(u)

    def pop(self, tls=False):
        if tls:
            return poplib.POP3_SSL("127.0.0.1", self.port("pop3s"), timeout=20,
                                   context=client_tls_context())
        return poplib.POP3("127.0.0.1", self.port("pop3"), timeout=20)

    def login(self, user=USER, pw=PW, tls=False):
        p = self.pop(tls)
        p.user(user)
        p.pass_(pw)
        return p

    def login_after_drop(self, timeout=10):
        """Log in once the server has seen an earlier connection drop: it learns of the
        drop only when it next reads, so until then the maildrop is [IN-USE], and a client
        tries again (RFC 2449 §8.1.2)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.login()
            except poplib.error_proto as e:
                if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


class Raw:
    """A line-level client: send lines, read replies exactly."""

    def __init__(self, port, tls=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        if tls:
            s = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
        self.s = s
        self.f = s.makefile("rb")
        self.greeting = self.line()

    def line(self):
        l = self.f.readline()
        return l.decode("latin-1")

    def cmd(self, text):
        self.send(text)
        return self.line()

    def send(self, text):
        if isinstance(text, str):
            text = text.encode("latin-1")
        self.s.sendall(text + b"\r\n")

    def multi(self):
        out = []
        while True:
            l = self.line()
            if l in (".\r\n", ""):
                return out
            out.append(l)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def expect_err(fn, *args, contains=""):
    try:
        r = fn(*args)
    except poplib.error_proto as e:
        msg = e.args[0].decode() if isinstance(e.args[0], bytes) else str(e.args[0])
        assert msg.startswith("-ERR"), msg
        assert contains in msg, f"{contains!r} not in {msg!r}"
        return msg
    raise AssertionError(f"expected -ERR, got {r!r}")


# ---------------------------------------------------------------------------------

def test_every_command_plaintext_allowed():
    with Pop3Env(plaintext=True) as env:
        env.setup()
        p = env.pop()
        assert p.getwelcome() == b"+OK mx.example.test POP3 server ready"
        capa = p.capa()
        for c in ("TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS"):
            assert c in capa, capa
        assert capa["IMPLEMENTATION"] == ["tern"]
        assert set(capa["SASL"]) == {"PLAIN", "LOGIN", "SCRAM-SHA-256"}, capa
        assert p.user(USER) == b"+OK send PASS"
        assert p.pass_(PW).startswith(b"+OK logged in, 3 messages")
        sizes = [len(pop3_form(m)) for m in (MSG1, MSG2, MSG3)]
        assert p.stat() == (3, sum(sizes))
        resp, lines, _ = p.list()
        assert lines == [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)], lines
        assert p.list(2) == b"+OK 2 %d" % sizes[1]
        resp, lines, _ = p.uidl()
        assert lines == [b"%d %d.%d" % (i + 1, v, u) for i, (v, u) in enumerate(env.uids)], lines
        assert p.uidl(3) == b"+OK 3 %d.%d" % env.uids[2]
        for i, m in enumerate((MSG1, MSG2, MSG3)):
            resp, lines, octets = p.retr(i + 1)
            assert resp == b"+OK %d octets" % sizes[i]
            # poplib undoes the dot-stuffing; its octet count is the unstuffed bytes.
            got = b"".join(l + b"\r\n" for l in lines)
            assert got == pop3_form(m), (got, pop3_form(m))
            assert octets == sizes[i]
        resp, lines, _ = p.top(1, 2)
        assert lines == [b"From: x@example.net", b"Subject: one", b"", b"Hello.", b".leading dot"]
        resp, lines, _ = p.top(3, 0)
        assert lines == [b"Subject: three", b""]
        assert p.noop() == b"+OK"
        assert p.dele(1) == b"+OK message 1 deleted"
        assert p.rset() == b"+OK maildrop has 3 messages (%d octets)" % sum(sizes)
        assert p.quit() == b"+OK mx.example.test POP3 server signing off (0 messages deleted)"
        p = env.login()
        assert p.stat()[0] == 3
        p.quit()


def test_plaintext_refused_before_stls():
    with Pop3Env(plaintext=False) as env:
        env.setup()
        p = env.pop()
        capa = p.capa()
        assert "STLS" in capa and "USER" not in capa and "SASL" not in capa, capa
        expect_err(p.user, USER, contains="[SYS/PERM] plaintext authentication disallowed")
        r = Raw(env.port("pop3"))
        assert r.cmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PW}".encode()).decode()) \
            .startswith("-ERR [SYS/PERM]")
        r.cmd("QUIT")
        r.close()
        assert p.stls(client_tls_context()).startswith(b"+OK")
        capa = p.capa()
        assert "USER" in capa and "SASL" in capa and "STLS" not in capa, capa
        expect_err(p._shortcmd, "STLS", contains="-ERR")  # not twice (RFC 2595 §4)
        p.user(USER)
        assert p.pass_(PW).startswith(b"+OK")
        assert p.stat()[0] == 3
        resp, lines, _ = p.retr(1)
        assert b"".join(l + b"\r\n" for l in lines) == pop3_form(MSG1)
        p.quit()


def test_stls_discards_pipelined_input():
    with Pop3Env(plaintext=False) as env:
        env.setup()
        s = socket.create_connection(("127.0.0.1", env.port("pop3")), timeout=20)
        f = s.makefile("rb")
        f.readline()
        # RFC 2595 §4 / design §6: commands pipelined behind STLS must not be executed.
        s.sendall(b"STLS\r\nUSER " + USER.encode() + b"\r\n")
        assert f.readline().startswith(b"+OK")
        t = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
        tf = t.makefile("rb")
        t.sendall(b"NOOP\r\n")
        assert tf.readline() == b"-ERR command not valid in this state\r\n"  # not "+OK send PASS"'s follow-up
        t.sendall(b"PASS " + PW.encode() + b"\r\n")
        assert tf.readline() == b"-ERR USER first\r\n"
        t.close()


def test_pop3s_implicit_tls():
    with Pop3Env(plaintext=False) as env:
        env.setup()
        p = env.pop(tls=True)
        capa = p.capa()
        assert "STLS" not in capa and "USER" in capa
        p.user(USER)
        p.pass_(PW)
        assert p.stat()[0] == 3
        resp, lines, _ = p.retr(3)
        assert b"".join(l + b"\r\n" for l in lines) == pop3_form(MSG3)
        p.quit()


def test_auth_sasl_raw():
    with Pop3Env(plaintext=False) as env:
        env.setup()
        ir = base64.b64encode(f"\0{USER}\0{PW}".encode()).decode()
        r = Raw(env.port("pop3s"), tls=True)
        assert r.cmd("AUTH") == "+OK supported mechanisms follow\r\n"
        assert set(l.strip() for l in r.multi()) == {"PLAIN", "LOGIN", "SCRAM-SHA-256"}
        assert r.cmd("AUTH CRAM-MD5") == "-ERR unsupported authentication mechanism\r\n"
        # Cancel with "*" (RFC 5034 §4).
        assert r.cmd("AUTH PLAIN") == "+ \r\n"
        assert r.cmd("*") == "-ERR Authentication cancelled\r\n"
        # Malformed base64.
        assert r.cmd("AUTH PLAIN") == "+ \r\n"
        assert r.cmd("!!!notbase64").startswith("-ERR")
        # PLAIN with an initial response.
        assert r.cmd("AUTH PLAIN " + ir).startswith("+OK logged in, 3 messages")
        assert r.cmd("STAT").startswith("+OK 3 ")
        assert r.cmd("QUIT").startswith("+OK")
        r.close()
        # PLAIN without initial response, then LOGIN.
        r = Raw(env.port("pop3s"), tls=True)
        assert r.cmd("auth plain") == "+ \r\n"
        assert r.cmd(ir).startswith("+OK logged in")
        r.cmd("QUIT")
        r.close()
        r = Raw(env.port("pop3s"), tls=True)
        c1 = r.cmd("AUTH LOGIN")
        assert c1.startswith("+ "), c1
        c2 = r.cmd(base64.b64encode(USER2.encode()).decode())
        assert c2.startswith("+ "), c2
        assert r.cmd(base64.b64encode(PW2.encode()).decode()).startswith("+OK logged in, 0 messages")
        r.cmd("QUIT")
        r.close()


def test_in_use():
    with Pop3Env() as env:
        env.setup()
        p1 = env.login()
        p2 = env.pop()
        p2.user(USER)
        expect_err(p2.pass_, PW, contains="[IN-USE]")
        # Another account is not affected.
        p3 = env.login(USER2, PW2)
        p3.quit()
        p1.quit()
        # Released at QUIT: the second client may now log in (same connection, again).
        p2.user(USER)
        assert p2.pass_(PW).startswith(b"+OK")
        # A dropped connection releases the lock too (flock on close).
        p2.sock.shutdown(socket.SHUT_RDWR)
        p2.sock.close()
        p4 = env.login_after_drop()
        p4.quit()


SHIM = os.path.join(BIN, "send_delay_shim.so")


def test_lock_released_before_quit_reply():
    """A client that gets QUIT's +OK may log in again at once: the lock is gone before the
    reply leaves. The shim holds pop3d's thread for 0.5 s after it writes the reply, as a
    loaded machine can; sessions are spread round-robin over the io threads, so in some
    of the rounds the next login runs on another thread meanwhile (CI saw [IN-USE] here
    once, on 75a5b57, which released the lock after the reply)."""
    assert os.path.exists(SHIM), f"{SHIM} missing (build the tern_send_delay_shim target)"
    with Pop3Env() as env:
        env.setup(extra_env={"LD_PRELOAD": SHIM, "TERN_SEND_DELAY_MATCH": "signing off",
                             "TERN_SEND_DELAY_MS": "500"})
        left = 3
        for i in range(6):
            p = env.login()  # no [IN-USE]
            assert p.stat()[0] == left
            if i % 2:
                p.dele(1)
                left -= 1
            assert p.quit().startswith(b"+OK mx.example.test POP3 server signing off")
        p = env.login()
        assert p.stat()[0] == left == 0
        p.quit()


def test_dele_rset_and_drop_and_quit():
    with Pop3Env() as env:
        env.setup()
        # DELE then RSET: nothing deleted.
        p = env.login()
        p.dele(1)
        p.dele(3)
        expect_err(p.retr, 1, contains="already deleted")
        assert p.stat()[0] == 1
        p.rset()
        assert p.stat()[0] == 3
        p.quit()
        # DELE then drop the connection: nothing deleted (RFC 1939 §6).
        p = env.login()
        p.dele(1)
        p.dele(2)
        p.sock.shutdown(socket.SHUT_RDWR)
        p.sock.close()
        p = env.login_after_drop()
        assert p.stat()[0] == 3
        # DELE then QUIT: deleted; the survivor keeps its UIDL.
        p.dele(1)
        p.dele(2)
        assert p.quit() == b"+OK mx.example.test POP3 server signing off (2 messages deleted)"
        p = env.login()
        resp, lines, _ = p.uidl()
        assert lines == [b"1 %d.%d" % env.uids[2]], lines
        resp, lines, _ = p.retr(1)
        assert b"".join(l + b"\r\n" for l in lines) == pop3_form(MSG3)
        p.quit()
        # Mail delivered after login is not in the snapshot; it is in the next session.
        p = env.login()
        env.deliver(USER, MSG1)
        assert p.stat()[0] == 1
        p.quit()
        p = env.login()
        assert p.stat()[0] == 2
        p.quit()


def test_bad_input():
    with Pop3Env(limits="error_limit = 20") as env:
        env.setup()
        r = Raw(env.port("pop3"))
        assert r.greeting == "+OK mx.example.test POP3 server ready\r\n"
        # Wrong state before login.
        for c in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP"):
            assert r.cmd(c) == "-ERR command not valid in this state\r\n", c
        assert r.cmd("PASS x") == "-ERR USER first\r\n"
        r.cmd("USER " + USER)
        assert r.cmd("PASS " + PW).startswith("+OK logged in")
        # Bad message numbers.
        assert r.cmd("RETR 0") == "-ERR no such message\r\n"
        assert r.cmd("RETR 4") == "-ERR no such message\r\n"
        assert r.cmd("TOP 99 1") == "-ERR no such message\r\n"
        assert r.cmd("DELE 9999999999999999999") == "-ERR no such message\r\n"
        assert r.cmd("DELE 18446744073709551616") == "-ERR invalid number\r\n"
        assert r.cmd("LIST x") == "-ERR invalid number\r\n"
        # Wrong state after login, unknown command, overlong line (RFC 2449 §4: 255
        # octets with CRLF), binary garbage: each an -ERR, and the session goes on.
        assert r.cmd("USER " + USER) == "-ERR command not valid in this state\r\n"
        assert r.cmd("HELO x") == "-ERR unknown command\r\n"
        assert r.cmd("NOOP " + "a" * 300) == "-ERR line too long\r\n"
        assert r.cmd("NOOP" + " " * 249) == "+OK\r\n"  # 253 octets + CRLF is allowed
        r.send(b"\x00\x01\xff\xfe garbage \x1b[0m")
        assert r.line() == "-ERR invalid characters in command\r\n"
        assert r.cmd("STAT").startswith("+OK 3 ")
        # Pipelined commands are answered in order (RFC 2449 PIPELINING).
        r.s.sendall(b"NOOP\r\nSTAT\r\nLIST 1\r\n")
        assert r.line() == "+OK\r\n"
        assert r.line().startswith("+OK 3 ")
        assert r.line().startswith("+OK 1 ")
        # The error limit closes the session without touching the maildrop.
        r.cmd("DELE 1")
        replies = []
        for _ in range(20):
            replies.append(r.cmd("BOGUS"))
            if not replies[-1].startswith("-ERR unknown"):
                break
        # 16 errors so far + 4: the 20th error closes the session.
        assert len(replies) == 4, replies
        assert replies[-1] == "-ERR [SYS/PERM] too many errors, closing connection\r\n", replies
        assert r.line() == ""  # closed
        r.close()
        p = env.login()
        assert p.stat()[0] == 3
        p.quit()


def test_wrong_passwords_throttled_and_disabled():
    with Pop3Env(limits="auth_failures = 3") as env:
        env.setup()
        p = env.pop()
        p.user(USER)
        t0 = time.time()
        expect_err(p.pass_, "wrong", contains="-ERR [AUTH] Authentication credentials invalid")
        p.user(USER)
        expect_err(p.pass_, "wrong again", contains="-ERR [AUTH]")
        assert time.time() - t0 >= 0.9, "second failure must be delayed (throttle)"
        # AUTH PLAIN with a wrong password is [AUTH] too.
        r = Raw(env.port("pop3"))
        bad = base64.b64encode(f"\0{USER}\0nope".encode()).decode()
        assert r.cmd("AUTH PLAIN " + bad).startswith("-ERR [AUTH]")
        # Now the IP is over [limits] auth_failures: refused even with the right password.
        p.user(USER)
        expect_err(p.pass_, PW, contains="-ERR [SYS/TEMP]")
        r.close()
        p.quit()
    with Pop3Env() as env:
        env.setup()
        env.ctl("user", "disable", USER2)
        p = env.pop()
        p.user(USER2)
        expect_err(p.pass_, PW2, contains="-ERR [AUTH]")
        p.quit()
        log = env.log("tern-pop3d")
        assert PW2 not in log and PW not in log, "passwords must never be logged"


def test_capa_expire_login_delay():
    with Pop3Env(pop3_extra='expire = 30\nlogin_delay = "1m"') as env:
        env.setup(messages=())
        p = env.pop()
        capa = p.capa()
        assert capa.get("EXPIRE") == ["30"], capa
        assert capa.get("LOGIN-DELAY") == ["60"], capa
        p.quit()


def test_large_message_streamed():
    big = b"Subject: big\r\n\r\n" + b"".join(
        (b"." if i % 5 == 0 else b"") + b"%08d " % i + b"y" * 1000 + b"\r\n" for i in range(3000))
    with Pop3Env() as env:
        env.setup(messages=(big,))
        p = env.login()
        assert p.list(1) == b"+OK 1 %d" % len(big)
        resp, lines, octets = p.retr(1)
        assert octets == len(big)
        assert b"".join(l + b"\r\n" for l in lines) == big
        p.quit()


def scram_client_exchange(r, user, pw):
    """RFC 5802/7677 SCRAM-SHA-256 client over POP3 AUTH (RFC 5034)."""
    import hashlib
    import hmac
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f"n={user},r={nonce}"
    ch = r.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + bare).encode()).decode())
    if not ch.startswith("+ "):
        return ch
    first = base64.b64decode(ch[2:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    ckey = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(ckey).digest()
    final_wo = f"c=biws,r={attrs['r']}"
    auth_msg = f"{bare},{first},{final_wo}".encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    ch = r.cmd(base64.b64encode(f"{final_wo},p={base64.b64encode(proof).decode()}".encode()).decode())
    if not ch.startswith("+ "):
        return ch
    skey = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    want = "v=" + base64.b64encode(hmac.new(skey, auth_msg, hashlib.sha256).digest()).decode()
    assert base64.b64decode(ch[2:].strip()).decode() == want, "server signature"
    return r.cmd("")


def test_auth_scram_sha256():
    with Pop3Env(plaintext=False) as env:
        env.setup()
        r = Raw(env.port("pop3s"), tls=True)
        reply = scram_client_exchange(r, USER, PW)
        assert reply.startswith("+OK logged in, 3 messages"), reply
        r.cmd("QUIT")
        r.close()
        r = Raw(env.port("pop3s"), tls=True)
        reply = scram_client_exchange(r, USER2, "not the password")
        assert reply.startswith("-ERR [AUTH]"), reply
        r.close()


if __name__ == "__main__":
    run_tests([
        test_every_command_plaintext_allowed,
        test_plaintext_refused_before_stls,
        test_stls_discards_pipelined_input,
        test_pop3s_implicit_tls,
        test_auth_sasl_raw,
        test_auth_scram_sha256,
        test_in_use,
        test_lock_released_before_quit_reply,
        test_dele_rset_and_drop_and_quit,
        test_bad_input,
        test_wrong_passwords_throttled_and_disabled,
        test_capa_expire_login_delay,
        test_large_message_streamed,
    ])
