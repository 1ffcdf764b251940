"""tern-imapd limits and bad input over raw sockets: every limit is checked before any
"+" continuation (a synchronizing literal over it gets NO [TOOBIG] and no "+"; a LITERAL+
literal over it gets BAD [TOOBIG], BYE and the end, RFC 7888 §4), the [imap] limits are
the configured ones, malformed commands get BAD with a reason, a client that keeps
sending garbage (lines or one endless line) is disconnected, the unauthenticated
autologout says BYE, and STARTTLS discards what was pipelined behind it.
Nothing of it reaches the store, and the daemon goes on serving.

Run: TERN_BIN=build/bin /usr/bin/python3 tests/integration/test_imap_limits.py
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import client_tls_context, run_tests  # noqa: E402
from test_imap import PW, USER, ImapEnv  # noqa: E402


class Sock:
    """Raw socket reads without a buffering file object, so "nothing else arrived"
    can be checked and the socket can be wrapped in TLS afterwards."""

    def __init__(self, port, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                out, self.buf = self.buf, b""
                return out.decode("latin-1")
            self.buf += chunk
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode("latin-1")

    def send(self, data):
        self.s.sendall(data.encode("latin-1") if isinstance(data, str) else data)

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

    def closed(self, timeout=10):
        """True when the server closed the connection (EOF) within `timeout`."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def login(env):
    c = Sock(env.port("imap"))
    out = c.cmd("l", f'LOGIN {USER} "{PW}"')
    assert out[-1].startswith("l OK"), out
    return c


def ended(env, c, tagged, reason, nth=1):
    """The server answered `tagged`..., said BYE and closed. The answer is read from
    the socket when it got through; a close with unread input may reset the
    connection and lose it on the way, so the daemon's log is the witness too."""
    lines = []
    while True:
        l = c.line()
        if l == "":
            break
        lines.append(l)
    c.close()
    if lines:
        assert any(l.startswith(tagged) for l in lines), (tagged, lines)
        assert lines[-1].startswith("* BYE"), lines
    deadline = time.time() + 10
    while env.log("tern-imapd").count(f"reason={reason}") < nth and time.time() < deadline:
        time.sleep(0.1)
    assert env.log("tern-imapd").count(f"reason={reason}") >= nth, env.log("tern-imapd")[-2000:]


def inbox_count(env):
    return len(env.mailbox(USER, "INBOX"))


# ---------------------------------------------------------------------------------

def test_literals_over_the_limit_before_any_continuation():
    # message_size is the APPEND literal limit; command_line bounds other literals.
    with ImapEnv(limits='message_size = "64K"', imap_extra='command_line = "8K"') as env:
        env.setup(messages=())
        # Before login no literal may be larger than the command line (APPEND needs a
        # login): a stranger cannot make the daemon hold message_size per connection.
        c = Sock(env.port("imap"))
        c.send(b"p1 APPEND INBOX {8193}\r\n")
        l = c.line()
        assert l.startswith("p1 NO [TOOBIG]") and "8192" in l, l
        c.send(b"p2 LOGIN {8192}\r\n")
        assert c.line().startswith("+ ")
        c.send(b"x" * 8192 + b" y\r\n")
        assert c.line().startswith("p2 "), "an answer to the LOGIN (a wrong user)"
        c.close()
        c = login(env)
        # Synchronizing APPEND literal one over: NO [TOOBIG] at once, never a "+".
        c.send(b"a1 APPEND INBOX {65537}\r\n")
        l = c.line()
        assert l.startswith("a1 NO [TOOBIG]") and "65536" in l, l
        assert c.cmd("a2", "NOOP")[-1].startswith("a2 OK")
        # At the limit: "+", and it is stored.
        msg = b"Subject: at the limit\r\n\r\n" + b"z" * (65536 - 27) + b"\r\n"
        assert len(msg) == 65536
        c.send(b"a3 APPEND INBOX {65536}\r\n")
        assert c.line().startswith("+ ")
        c.send(msg + b"\r\n")
        assert c.until("a3")[-1].startswith("a3 OK [APPENDUID")
        # A LOGIN/SELECT-sized literal is bounded by command_line (8K), not the message size.
        c.send(b"a4 SELECT {8193}\r\n")
        assert c.line().startswith("a4 NO [TOOBIG]")
        # The literals of one command together: the second pushes the sum over 8K.
        c.send(b"a5 LOGIN {5000}\r\n")
        assert c.line().startswith("+ ")
        c.send(b"u" * 5000 + b" {5000}\r\n")
        l = c.line()
        assert l.startswith("a5 NO [TOOBIG]"), l
        assert c.cmd("a6", "NOOP")[-1].startswith("a6 OK")
        # A huge announced size (digits overflow) is just too big.
        c.send(b"a7 APPEND INBOX {99999999999999999999999999}\r\n")
        assert c.line().startswith("a7 NO [TOOBIG]")
        assert inbox_count(env) == 1
        # LITERAL+ over the limit: its octets are on their way and cannot be told from
        # commands, so BAD [TOOBIG], BYE, and the connection ends (RFC 7888 §4). The
        # literal carries a command that must never run.
        evil = b"x1 CREATE Injected\r\n" * 4000
        c.send(b"a8 APPEND INBOX {%d+}\r\n" % (65537 + len(evil)) + evil)
        ended(env, c, "a8 BAD [TOOBIG]", "literal too large")
        # Non-APPEND LITERAL+ over command_line: the same.
        c = login(env)
        c.send(b"b1 LOGIN {9000+}\r\n" + b"x" * 9000 + b" y\r\n")
        ended(env, c, "b1 BAD [TOOBIG]", "literal too large", 2)
        c = login(env)
        out = c.cmd("s", "LIST \"\" *")
        assert not any("Injected" in l for l in out), out
        assert inbox_count(env) == 1
        c.close()


def test_configured_limits_are_enforced():
    extra = 'command_line = "8K"\nnesting = 4\nsequence_ranges = 100'
    with ImapEnv(imap_extra=extra) as env:
        env.setup()
        c = login(env)
        assert c.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
        # command_line: 8K of command text (without literals).
        out = c.cmd("c1", "FETCH 1 (FLAGS)" + " " * 8200)
        assert out[-1].startswith("c1 BAD") and "too long" in out[-1], out
        assert c.cmd("c2", "FETCH 1 (FLAGS)" + " " * 8000)[-1].startswith("c2 OK")
        # nesting: 4 levels of lists, and of SEARCH keys.
        assert c.cmd("c3", "SEARCH ((((ALL))))")[-1].startswith("c3 OK")
        out = c.cmd("c4", "SEARCH (((((ALL)))))")
        assert out[-1].startswith("c4 BAD") and "nested" in out[-1], out
        out = c.cmd("c5", "SEARCH NOT NOT NOT NOT NOT NOT ALL")
        assert out[-1].startswith("c5 BAD") and "nested" in out[-1], out
        # sequence_ranges: 100 ranges in one set.
        s100 = ",".join(str(i) for i in range(1, 201, 2))
        assert c.cmd("c6", f"UID FETCH {s100} (FLAGS)")[-1].startswith("c6 OK")
        out = c.cmd("c7", f"UID FETCH {s100},999 (FLAGS)")
        assert out[-1].startswith("c7 BAD"), out
        out = c.cmd("c8", f"SEARCH UID {s100},999")
        assert out[-1].startswith("c8 BAD"), out
        assert c.cmd("c9", "NOOP")[-1].startswith("c9 OK")
        c.close()
    # idle_timeout under RFC 9051 §5.4's 30 minutes is refused at start (and by ternctl).
    with ImapEnv(imap_extra='idle_timeout = "10m"') as env:
        for cmd in ([env.bin("tern-imapd"), "--config", env.config_path],
                    [env.bin("ternctl"), "--config", env.config_path, "init"]):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            assert p.returncode != 0, p
            assert "idle_timeout" in p.stdout + p.stderr, p


def test_malformed_commands_get_bad_with_a_reason():
    with ImapEnv(limits="error_limit = 100") as env:
        env.setup()
        c = Sock(env.port("imap"))
        cases = [
            ("", "* BAD"), ("t1", "t1 BAD"), ("t+2 NOOP", "* BAD"), ("t3 F(OO", "t3 BAD"),
            ("t4 NOOP )", "t4 BAD"), ('t5 LOGIN "a', "t5 BAD"), ('t6 LOGIN "a\\x" b', "t6 BAD"),
            ("t7 LOGIN a {3}x", "t7 BAD"), ("t8 FROBNICATE", "t8 BAD"), ("t9 SELECT INBOX", "t9 BAD"),
            ("t10 CAPABILITY extra", "t10 BAD"), ("t11 ID (\"a\")", "t11 BAD"),
            ("t12 ENABLE", "t12 BAD"), ("t13 LOGIN onlyuser", "t13 BAD"),
        ]
        for text, want in cases:
            c.send(text.encode() + b"\r\n")
            l = c.line()
            assert l.startswith(want + " "), (text, l)
            assert len(l.strip()) > len(want) + 2, f"BAD without a reason: {l!r}"
        # NUL and 8-bit bytes in a command line are not a crash.
        c.send(b"t14 NO\x00OP\r\n")
        assert c.line().startswith("t14 BAD")
        c.send(b"t15 \xff\xfe\r\n")
        assert c.line().startswith("t15 BAD")
        out = c.cmd("l", f'LOGIN {USER} "{PW}"')
        assert out[-1].startswith("l OK"), out
        selected = [
            ("s1 FETCH", "s1 BAD"), ("s2 FETCH 0 FLAGS", "s2 BAD"), ("s3 FETCH 1:x FLAGS", "s3 BAD"),
            ("s4 FETCH 1 (FLAGS", "s4 BAD"), ("s5 FETCH 1 NOSUCHATT", "s5 BAD"),
            ("s6 STORE 1 +FLAGS (\\Bogus)", "s6 BAD"), ("s7 SEARCH BOGUS", "s7 BAD"),
            ("s8 SEARCH SINCE 1-Foo-2026", "s8 BAD"), ("s9 UID", "s9 BAD"), ("s10 UID FROB 1", "s10 BAD"),
            ("s11 COPY", "s11 BAD"), ("s12 SELECT", "s12 BAD"), ("s13 FETCH 1 BODY[1.x]", "s13 BAD"),
            ("s14 FETCH 1 BODY[]<5.x>", "s14 BAD"), ("s15 STATUS INBOX (BOGUS)", "s15 BAD"),
            ("s16 UID EXPUNGE", "s16 BAD"), ("s17 SEARCH OR ALL", "s17 BAD"),
        ]
        assert c.cmd("sel", "SELECT INBOX")[-1].startswith("sel OK")
        for text, want in selected:
            out = c.cmd(text.split()[0], text[len(text.split()[0]) + 1:])
            assert out[-1].startswith(want + " "), (text, out)
            assert len(out[-1].strip()) > len(want) + 2, f"BAD without a reason: {out[-1]!r}"
        assert c.cmd("z", "NOOP")[-1].startswith("z OK")
        c.close()
        assert len(env.mailbox(USER, "INBOX")) == 3


def test_garbage_disconnects():
    with ImapEnv() as env:
        env.setup()
        # Lines of garbage: [limits] error_limit (default 20) BADs, then BYE and close.
        c = Sock(env.port("imap"))
        c.send(b"".join(b"\x16\x03\x01 garbage %d ((\r\n" % i for i in range(25)))
        lines = []
        while True:
            l = c.line()
            if l == "":
                break
            lines.append(l)
        assert sum(1 for l in lines if " BAD " in l) == 20, lines
        assert lines[-1].startswith("* BYE"), lines
        c.close()
        # One endless line: skipped up to a bound (4 x command_line, at least 1 MiB),
        # then BAD, BYE and close — not read forever.
        c = Sock(env.port("imap"))
        chunk = b"g1 NOOP " + b"j" * (256 * 1024)
        sent, closed = 0, False
        try:
            while sent < (32 << 20):
                c.s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        assert sent <= (12 << 20), f"server read {sent} octets of one line"
        ended(env, c, "g1 BAD command line too long", "line too long")
        # The same inside IDLE, where the daemon waits for DONE.
        c = login(env)
        assert c.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
        c.send(b"i1 IDLE\r\n")
        assert c.line().startswith("+ ")
        sent = 0
        try:
            while sent < (32 << 20):
                c.s.sendall(b"D" * (256 * 1024))
                sent += 256 * 1024
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent <= (12 << 20), f"server read {sent} octets of one line in IDLE"
        ended(env, c, "i1 BAD", "line too long", 2)
        # The daemon is fine.
        c = login(env)
        assert c.cmd("z", "SELECT INBOX")[-1].startswith("z OK")
        c.close()


def test_starttls_discards_pipelined_capability():
    with ImapEnv(plaintext=False) as env:
        env.setup()
        s = socket.create_connection(("127.0.0.1", env.port("imap")), timeout=20)
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(4096)
        assert buf.startswith(b"* OK")
        # One packet: STARTTLS and a command behind it, sent in the clear.
        s.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            assert chunk, "closed before the STARTTLS answer"
            buf += chunk
        assert buf.startswith(b"a OK"), buf
        # Nothing else came in the clear: no "* CAPABILITY", no "b OK".
        assert buf.endswith(b"\r\n") and buf.count(b"\r\n") == 1, buf
        t = client_tls_context().wrap_socket(s, server_hostname="mx.example.test")
        t.sendall(b"c NOOP\r\n")
        got = b""
        while b"c OK" not in got:
            chunk = t.recv(4096)
            assert chunk, got
            got += chunk
        # The first thing over TLS is c's answer: b was never run, before or after.
        assert got.startswith(b"c OK"), got
        assert b"CAPABILITY" not in got and b"b OK" not in got, got
        t.sendall(b"d CAPABILITY\r\n")
        got = b""
        while b"d OK" not in got:
            chunk = t.recv(4096)
            assert chunk, got
            got += chunk
        assert b"STARTTLS" not in got and b"AUTH=PLAIN" in got, got
        t.close()


def test_unauthenticated_autologout():
    # login_timeout (10 s here, the minimum) ends a session that never logs in.
    with ImapEnv(imap_extra='login_timeout = "10s"') as env:
        env.setup()
        c = Sock(env.port("imap"), timeout=40)
        t0 = time.time()
        l = c.line()
        took = time.time() - t0
        assert l.startswith("* BYE") and "utologout" in l, l
        assert 8 <= took <= 30, took
        assert c.closed()
        c.close()


if __name__ == "__main__":
    run_tests([
        test_literals_over_the_limit_before_any_continuation,
        test_configured_limits_are_enforced,
        test_malformed_commands_get_bad_with_a_reason,
        test_garbage_disconnects,
        test_starttls_discards_pipelined_capability,
        test_unauthenticated_autologout,
    ])
