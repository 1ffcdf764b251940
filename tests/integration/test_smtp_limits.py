"""tern-mta against slow, greedy and hostile clients (issue 18): the DATA timeout is a
deadline per line (a trickler is cut off, a slow but steady sender of a 50 MiB message
gets through), a BDAT chunk's time scales with its size, a whole-session limit, junk
commands (a NOOP loop ends), a bounded STARTTLS handshake. Raw sockets on loopback; each
test group starts its own tern-mta with scaled-down timeouts."""
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402


def new_env(limits):
    e = TernEnv(listeners=["smtp"], limits=limits)
    e.ctl("domain", "add", "example.test")
    e.ctl("user", "add", "alice@example.test", "--password-stdin", input="pw-pw-pw-pw\n")
    e.start("tern-mta")
    return e


def raw(env):
    s = socket.create_connection(("127.0.0.1", env.port("smtp")), timeout=60)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    return s, f


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("closed: " + repr(lines))
        lines.append(line)
        if line[3:4] == b" ":
            return lines


def code(lines):
    return lines[-1][:9].decode()


def start_tx(s, f, data=True):
    s.sendall(b"EHLO c.example\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n")
    for _ in range(3):
        assert read_reply(f)[-1][:1] == b"2"
    if data:
        s.sendall(b"DATA\r\n")
        assert read_reply(f)[-1].startswith(b"354 ")


def closed_within(s, f, seconds, step, payload):
    """Sends `payload` every `step` seconds until the server answers; returns
    (reply, elapsed)."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            s.sendall(payload)
        except OSError:
            break
        r, _, _ = select.select([s], [], [], step)
        if r:
            return s.recv(4096), time.time() - t0
    return None, time.time() - t0


# data_timeout = 2s, session_timeout long
LIMITS_DATA = 'data_timeout = "2s"\ncommand_timeout = "10s"\nmessage_size = "60M"'


def test_data_trickle_gets_421(env):
    s, f = raw(env)
    start_tx(s, f)
    s.sendall(b"Subject: trickle\r\n\r\n")
    # One byte every 0.4 s, never a line end: the line must be complete within 2 s.
    line, took = closed_within(s, f, 12, 0.4, b"x")
    assert line is not None and line.startswith(b"421 4.4.2"), (line, took)
    assert 1.5 <= took < 6, took
    s.close()
    assert "timeout in DATA" in env.log("tern-mta")


def test_slow_steady_50mib_gets_through(env):
    s, f = raw(env)
    start_tx(s, f)
    line = b"x" * 998 + b"\r\n"
    chunk = line * 1024  # 1 MiB
    t0 = time.time()
    s.sendall(b"Subject: big slow\r\n\r\n")
    for i in range(50):
        s.sendall(chunk)
        time.sleep(0.1)  # 50 MiB over > 5 s: longer than data_timeout, never a slow line
    s.sendall(b".\r\n")
    r = read_reply(f)
    took = time.time() - t0
    assert code(r) == "250 2.0.0", r
    assert took > 4, took
    s.sendall(b"QUIT\r\n")
    s.close()


def test_bdat_chunk_time_scales_with_size(env):
    s, f = raw(env)
    start_tx(s, f, data=False)
    # 256 KiB at ~25 KiB/s: a 64 KiB piece takes > data_timeout (2 s), each 1000 octets
    # a small part of it.
    size = 256 * 1024
    s.sendall(b"BDAT %d LAST\r\n" % size)
    head = b"Subject: bdat slow\r\n\r\n"
    body = head + (b"y" * 998 + b"\r\n") * ((size - len(head)) // 1000)
    body += b"y" * (size - len(body) - 2) + b"\r\n"
    assert len(body) == size
    for i in range(0, size, 2048):
        s.sendall(body[i:i + 2048])
        time.sleep(0.08)
    r = read_reply(f)
    assert code(r) == "250 2.0.0", r
    # A chunk that trickles: 1 byte every 0.4 s.
    start_tx(s, f, data=False)
    s.sendall(b"BDAT 5000 LAST\r\n")
    line, took = closed_within(s, f, 12, 0.4, b"z")
    assert line is not None and line.startswith(b"421 4.4.2"), (line, took)
    assert took < 6, took
    s.close()


# Session limit and junk commands.
LIMITS_SESSION = 'session_timeout = "4s"\ncommand_timeout = "10s"\njunk_limit = 10\nerror_limit = 6'


def test_session_limit(env):
    s, f = raw(env)
    t0 = time.time()
    codes = []
    # EHLO is not junk: only the whole-session limit ends this.
    while time.time() - t0 < 15:
        try:
            s.sendall(b"EHLO c.example\r\n")
            codes.append(code(read_reply(f)))
        except (EOFError, OSError):
            break
        if codes[-1].startswith("421"):
            break
        time.sleep(0.5)
    took = time.time() - t0
    assert codes and codes[-1] == "421 4.4.2", codes
    assert 3 <= took < 8, took
    assert f.read() == b""
    s.close()
    assert "session time limit" in env.log("tern-mta")


def test_noop_loop_is_closed(env):
    s, f = raw(env)
    s.sendall(b"EHLO c.example\r\n")
    read_reply(f)
    codes = []
    for _ in range(40):
        try:
            s.sendall(b"NOOP\r\n")
            codes.append(code(read_reply(f)))
        except (EOFError, OSError):
            break
        if codes[-1].startswith("421"):
            break
    # junk_limit = 10, then each NOOP is an error; error_limit = 6.
    assert codes[:16] == ["250 2.0.0"] * 16 and codes[16] == "421 4.7.0", codes
    assert f.read() == b""
    s.close()


# STARTTLS handshake bounded like implicit TLS (30 s), not by command_timeout.
LIMITS_TLS = 'command_timeout = "120s"'


def test_starttls_handshake_bounded(env):
    s, f = raw(env)
    s.sendall(b"EHLO c.example\r\n")
    read_reply(f)
    s.sendall(b"STARTTLS\r\n")
    assert code(read_reply(f)) == "220 2.0.0"
    t0 = time.time()
    s.settimeout(60)
    assert s.recv(1) == b""  # we never send a ClientHello
    took = time.time() - t0
    assert 25 <= took < 40, took
    s.close()


def main():
    groups = [
        (LIMITS_DATA, [test_data_trickle_gets_421, test_slow_steady_50mib_gets_through,
                       test_bdat_chunk_time_scales_with_size]),
        (LIMITS_SESSION, [test_session_limit, test_noop_loop_is_closed]),
        (LIMITS_TLS, [test_starttls_handshake_bounded]),
    ]
    tests = []
    for limits, fns in groups:
        holder = {}

        def bind(fn, limits=limits, holder=holder):
            def t():
                if "env" not in holder:
                    holder["env"] = new_env(limits)
                fn(holder["env"])
            t.__name__ = fn.__name__
            return t
        tests += [bind(fn) for fn in fns]

        def close(holder=holder):
            if "env" in holder:
                holder["env"].__exit__(None, None, None)
                holder.pop("env")
        close.__name__ = "stop_env"
        tests.append(close)
    run_tests(tests)


if __name__ == "__main__":
    main()
