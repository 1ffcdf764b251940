"""tern under systemd's protocols, without systemd: READY=1 once the daemons run,
WATCHDOG=1 keep-alives at half WATCHDOG_USEC, RELOADING=1/READY=1 around SIGHUP,
STOPPING=1 (a datagram socket stands in for NOTIFY_SOCKET); the notify variables do
not reach the daemons. RLIMIT_NOFILE: tern and its daemons raise the soft limit to the
hard one; with a hard limit too small for the listeners' connections tern (and a daemon
run alone) refuses to start with a clear message."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, TernEnv, run_tests, wait_port  # noqa: E402

HAVE_POP3D = os.access(os.path.join(BIN, "tern-pop3d"), os.X_OK)


def limited(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def start_limited(env, binary, soft, hard):
    """Starts BIN/binary on env's config with RLIMIT_NOFILE (soft, hard); env stops it."""
    p = subprocess.Popen([os.path.join(BIN, binary), "--config", env.config_path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         preexec_fn=limited(soft, hard))
    env.procs.append(p)
    return p


def nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3]), int(line.split()[4])
    raise AssertionError("no Max open files line")


def daemon_pid(env, name, timeout=10):
    path = os.path.join(env.data_dir, "run", name + ".pid")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            text = open(path).read()
            if text.endswith("\n"):
                return int(text)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise TimeoutError(path)


def test_sd_notify_ready_watchdog_reload_stop():
    if not HAVE_POP3D:
        print("SKIP test_sd_notify_ready_watchdog_reload_stop: no tern-pop3d")
        return
    with TernEnv(listeners=["pop3"]) as env:
        os.chmod(env.dir, 0o755)
        os.chmod(env.config_path, 0o644)
        path = os.path.join(env.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        os.environ["NOTIFY_SOCKET"] = path
        os.environ["WATCHDOG_USEC"] = "400000"  # keep-alive every 200 ms
        try:
            tern = env.start("tern")
        finally:
            del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
        got = []

        def until(word, timeout=10):
            deadline = time.time() + timeout
            while time.time() < deadline:
                msg = sock.recv(4096).decode()
                got.append(msg)
                if word in msg.split("\n"):
                    return msg
            raise AssertionError(f"no {word} in {got}")
        ready = until("READY=1")
        assert "STATUS=running tern-pop3d" in ready, ready
        wait_port(env.port("pop3"))
        t0 = time.time()
        until("WATCHDOG=1")
        until("WATCHDOG=1")
        assert time.time() - t0 < 2, time.time() - t0
        os.kill(tern.pid, signal.SIGHUP)
        until("RELOADING=1")
        until("READY=1")
        # the daemon did not inherit the notify socket
        pid = daemon_pid(env, "tern-pop3d")
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        assert not any(e.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_USEC=")) for e in environ)
        os.kill(tern.pid, signal.SIGTERM)
        until("STOPPING=1")
        assert tern.wait(timeout=20) == 0
        sock.close()


def test_nofile_raised_to_hard_limit():
    if not HAVE_POP3D:
        print("SKIP test_nofile_raised_to_hard_limit: no tern-pop3d")
        return
    with TernEnv(listeners=["pop3", "pop3s"]) as env:
        os.chmod(env.dir, 0o755)
        os.chmod(env.config_path, 0o644)
        tern = start_limited(env, "tern", 1024, 8192)
        wait_port(env.port("pop3"), proc=tern)
        assert nofile(tern.pid) == (8192, 8192)
        assert nofile(daemon_pid(env, "tern-pop3d")) == (8192, 8192)
        # a daemon run alone raises its own
        env.stop(tern)
        alone = start_limited(env, "tern-pop3d", 1024, 8192)
        wait_port(env.port("pop3"), proc=alone)
        assert nofile(alone.pid) == (8192, 8192)


def test_too_small_nofile_refused():
    if not HAVE_POP3D:
        print("SKIP test_too_small_nofile_refused: no tern-pop3d")
        return
    with TernEnv(listeners=["pop3", "pop3s"]) as env:
        # 2 listeners x 1000 connections x 2 + 64 = 4064 > 1024
        p = subprocess.run([os.path.join(BIN, "tern"), "--config", env.config_path], capture_output=True,
                           text=True, timeout=30, preexec_fn=limited(1024, 1024))
        assert p.returncode == 78, (p.returncode, p.stdout, p.stderr)
        msg = ("tern-pop3d: 2 listener(s) x 1000 connections ([limits] connections) need 4064 file descriptors "
               "(2 per connection + 64), but the open-files limit (RLIMIT_NOFILE) is 1024")
        assert msg in p.stdout + p.stderr, p.stdout + p.stderr
        p = subprocess.run([os.path.join(BIN, "tern-pop3d"), "--config", env.config_path], capture_output=True,
                           text=True, timeout=30, preexec_fn=limited(1024, 1024))
        # alone it refuses at its first listener already (1 x 1000 x 2 + 64)
        assert p.returncode != 0, (p.returncode, p.stderr)
        assert ("tern-pop3d: 1 listener(s) x 1000 connections ([limits] connections) need 2064 file descriptors"
                in p.stdout + p.stderr), p.stderr
        # lower connections and it fits: 2 x 200 x 2 + 64 = 864
        with open(env.config_path, "a") as f:
            f.write("\n[limits]\nconnections = 200\n")
        os.chmod(env.dir, 0o755)
        os.chmod(env.config_path, 0o644)
        tern = start_limited(env, "tern", 1024, 1024)
        wait_port(env.port("pop3"), proc=tern)


def test_imapd_counts_one_descriptor_per_connection():
    # A tern-imapd connection holds its socket only (no spool file, no lock file), so
    # its budget is 1 per connection: 2 listeners x 1000 x 1 + 64 = 2064 fits under 4096,
    # where the 2-per-connection rule (4064) would not fit under 3000. The bench's
    # 10,000 idle IMAPS sessions need this under a 20,000 hard limit.
    with TernEnv(listeners=["imap", "imaps"]) as env:
        os.chmod(env.dir, 0o755)
        os.chmod(env.config_path, 0o644)
        tern = start_limited(env, "tern", 3000, 3000)
        wait_port(env.port("imaps"), proc=tern)
        wait_port(env.port("imap"), proc=tern)
        env.stop(tern)
        alone = start_limited(env, "tern-imapd", 3000, 3000)
        wait_port(env.port("imaps"), proc=alone)
        env.stop(alone)
        # and below 2064 it is refused, with the figures
        p = subprocess.run([os.path.join(BIN, "tern"), "--config", env.config_path], capture_output=True,
                           text=True, timeout=30, preexec_fn=limited(2000, 2000))
        assert p.returncode == 78, (p.returncode, p.stdout, p.stderr)
        msg = ("tern-imapd: 2 listener(s) x 1000 connections ([limits] connections) need 2064 file descriptors "
               "(1 per connection + 64), but the open-files limit (RLIMIT_NOFILE) is 2000")
        assert msg in p.stdout + p.stderr, p.stdout + p.stderr


if __name__ == "__main__":
    run_tests([test_sd_notify_ready_watchdog_reload_stop, test_nofile_raised_to_hard_limit,
               test_too_small_nofile_refused, test_imapd_counts_one_descriptor_per_connection])
