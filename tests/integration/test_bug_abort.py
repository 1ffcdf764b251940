"""Bugs abort, loudly (issue 18): a broken invariant inside a daemon is not a logged
"session error" but an abort with file:line, and the supervisor restarts the daemon; an
error of the environment only ends its session.

The daemon is build/bin/tern-fault-daemon (tests/tools/fault_daemon.cpp: the shared
start-up and net::Server of the real daemons, a one-line protocol that injects a bug on
request), run by a copy of the real `tern` supervisor as its "tern-pop3d":
  ASSERT  -> the real POP3 state machine driven out of order: its TERN_ASSERT aborts
  LOGIC   -> a std::logic_error escapes the session: net::Server aborts
  RUNTIME -> a std::runtime_error escapes the session: logged, the daemon serves on"""
import os
import re
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, TernEnv, run_tests, wait_port, wait_until  # noqa: E402

FAULT = os.path.join(BIN, "tern-fault-daemon")


def greeting_pid(port):
    """Connects, reads the greeting; returns (socket, pid of the daemon)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    line = s.makefile("rb").readline()
    m = re.match(rb"\+OK fault-daemon (\d+)\r\n", line)
    assert m, line
    return s, int(m.group(1))


def send_and_expect_close(s, command):
    s.sendall(command + b"\r\n")
    s.settimeout(10)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    s.close()
    return data


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_injected_bugs_abort_and_the_supervisor_restarts():
    if not os.access(FAULT, os.X_OK):
        raise AssertionError(f"{FAULT} is not built")
    with TernEnv(listeners=["pop3"]) as env:
        # A bin dir of our own: the supervisor runs the daemons found next to itself.
        bindir = os.path.join(env.dir, "bin")
        os.mkdir(bindir, 0o755)
        shutil.copy2(os.path.join(BIN, "tern"), os.path.join(bindir, "tern"))
        shutil.copy2(FAULT, os.path.join(bindir, "tern-pop3d"))
        env.bin = lambda name: os.path.join(bindir, name)
        env.start("tern")
        port = env.port("pop3")
        pid_file = os.path.join(env.data_dir, "run", "tern-pop3d.pid")

        def restarted_from(old):
            def check():
                try:
                    with open(pid_file) as f:
                        text = f.read()
                    return text.endswith("\n") and int(text) != old
                except (FileNotFoundError, ValueError):
                    return False
            return check

        # 1. A broken invariant of the POP3 state machine: TERN_ASSERT, file:line, SIGABRT.
        s, pid1 = greeting_pid(port)
        send_and_expect_close(s, b"ASSERT")
        wait_until(lambda: not alive(pid1), 10, "the daemon to abort")
        log = lambda: env.log("tern")  # noqa: E731
        wait_until(lambda: "tern: assertion failed: state_ == State::Update at " in log(), 5,
                   "the assertion line")
        assert re.search(r"assertion failed: state_ == State::Update at \S*common/src/pop3/session\.cpp:\d+",
                         log()), log()[-2000:]
        wait_until(lambda: f"tern-pop3d (pid {pid1}) killed by signal 6; restarting in 1s" in log(), 5,
                   "the supervisor's restart line")
        wait_until(restarted_from(pid1), 10, "the restart")
        wait_port(port, timeout=10)
        s, pid2 = greeting_pid(port)
        assert pid2 != pid1

        # 2. A std::logic_error escaping a session: an internal error, not "session error".
        send_and_expect_close(s, b"LOGIC")
        wait_until(lambda: not alive(pid2), 10, "the daemon to abort on logic_error")
        wait_until(lambda: "tern: internal error in session: injected bug (tern-fault-daemon LOGIC)" in log(),
                   5, "the internal error line")
        assert "session error: injected bug" not in log()
        wait_until(lambda: f"tern-pop3d (pid {pid2}) killed by signal 6; restarting in 2s" in log(), 5,
                   "the second restart line (backoff 2s)")
        wait_until(restarted_from(pid2), 10, "the second restart")
        wait_port(port, timeout=10)
        s, pid3 = greeting_pid(port)

        # 3. The environment's error (runtime_error): the session ends, the daemon lives.
        send_and_expect_close(s, b"RUNTIME")
        wait_until(lambda: "session error: injected environment error (tern-fault-daemon RUNTIME)" in log(),
                   5, "the session error line")
        s, pid4 = greeting_pid(port)
        assert pid4 == pid3 and alive(pid3)
        s.sendall(b"PING\r\n")
        assert s.makefile("rb").readline() == f"+OK {pid3}\r\n".encode()
        s.close()
        print(f"aborted twice (pids {pid1}, {pid2}), restarted each time; runtime_error kept pid {pid3}")


if __name__ == "__main__":
    run_tests([test_injected_bugs_abort_and_the_supervisor_restarts])
