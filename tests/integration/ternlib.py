"""Shared helpers for tern integration tests (run with Debian's /usr/bin/python3).

    from ternlib import TernEnv
    with TernEnv() as env:                      # temp data dir, free loopback ports
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input="password\n")
        env.start("tern-mta")                   # waits until its ports accept
        s = smtplib.SMTP("127.0.0.1", env.port("smtp"))

Every process a TernEnv starts is killed (process group) when the `with` block ends,
and the temp dir is removed unless TERN_KEEP=1. Ports are picked free on 127.0.0.1.
"""
import atexit
import os
import random
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("TERN_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
SRC = os.environ.get("TERN_SRC") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")

# listener section -> daemon binary that serves it
LISTENERS = {
    "smtp": "tern-mta", "submission": "tern-mta", "submissions": "tern-mta",
    "pop3": "tern-pop3d", "pop3s": "tern-pop3d",
    "imap": "tern-imapd", "imaps": "tern-imapd",
    "web": "tern-web",
}


_handed_out = set()
_reserved = []  # reservation files of this process, removed at exit

# Ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range,
# 32768-60999 on Debian), so neither another process's bind(0) nor an outgoing
# connection's source port can take one between the pick and the daemon's bind; test
# processes running at once (ctest -j) share the range through reservation files.
PORT_RANGE = (20000, 32767)
RESERVATION_TTL = 2 * 3600  # a file older than this belongs to a process long gone


def _reservation_dir():
    """/tmp/tern-test-ports-UID, 0700 and ours: a directory another uid could write
    would let it plant a symlink where this process creates files."""
    d = os.path.join(tempfile.gettempdir(), f"tern-test-ports-{os.getuid()}")
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise RuntimeError(f"{d}: not a private directory of uid {os.getuid()}")
    return d


def _remove_reservations():
    for f in _reserved:
        try:
            os.unlink(f)
        except OSError:
            pass


def _reserve(d, port):
    path = os.path.join(d, str(port))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        try:
            if time.time() - os.lstat(path).st_mtime < RESERVATION_TTL:
                return False
            os.unlink(path)
            fd = os.open(path, flags, 0o600)
        except OSError:
            return False
    os.write(fd, f"{os.getpid()}\n".encode())
    os.close(fd)
    if not _reserved:
        atexit.register(_remove_reservations)
    _reserved.append(path)
    return True


def free_port():
    """A loopback port free now and reserved for this test process: never one it was
    given before (two listeners of one config on one port are a config error, ternctl
    exits 78) nor one another test process running at once holds (PORT_RANGE)."""
    d = _reservation_dir()
    for _ in range(2000):
        port = random.randint(*PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or in TIME_WAIT from an earlier listener
        if not _reserve(d, port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def wait_port(port, timeout=20.0, proc=None, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {timeout}s")


def wait_until(cond, timeout, what):
    """Polls cond() every 50 ms; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def client_tls_context():
    """A client context that accepts tern's self-signed test certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TernEnv:
    def __init__(self, extra_config="", limits="", hostname="mx.example.test",
                 listeners=None, sections=None):
        """sections: {"pop3": "allow_plaintext_auth = true", ...} adds lines to a
        listener's table; limits: lines for [limits]; extra_config: whole tables.
        Outbound delivery is held ([outbound] enabled = false) unless extra_config has
        an [outbound] table: tests that look at the queue must not see it sent."""
        sections = sections or {}
        self.dir = tempfile.mkdtemp(prefix="tern-it-")
        self.data_dir = os.path.join(self.dir, "var")
        self.ports = {name: free_port() for name in (listeners or LISTENERS)}
        self.procs = []
        self.config_path = os.path.join(self.dir, "tern.toml")
        lines = [f'hostname = "{hostname}"', f'data_dir = "{self.data_dir}"', ""]
        for name, port in self.ports.items():
            lines += [f"[{name}]", f'listen = ["127.0.0.1:{port}"]']
            if name in sections:
                lines.append(sections[name])
            lines.append("")
        if limits:
            lines += ["[limits]", limits, ""]
        if "[outbound]" not in extra_config:
            lines += ["[outbound]", "enabled = false", ""]
        # Inbound SPF/DKIM/DMARC need test DNS: off unless a test configures [checks].
        if "[checks]" not in extra_config:
            extra_config += "\n[checks]\nenabled = false\n"
        self.config_text = "\n".join(lines) + "\n" + extra_config
        with open(self.config_path, "w") as f:
            f.write(self.config_text)

    # -- context manager -------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        if os.environ.get("TERN_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"kept {self.dir}", file=sys.stderr)

    # -- processes -------------------------------------------------------
    def bin(self, name):
        return os.path.join(BIN, name)

    def port(self, listener):
        return self.ports[listener]

    def ctl(self, *args, input=None, check=True):
        """Run ternctl with this env's config; returns CompletedProcess (text).
        Only tern's first start or `ternctl init` makes a store, so the first ctl call
        of a test runs `ternctl init` before it."""
        if (args and args[0] != "init" and "--data-dir" not in args
                and not os.path.exists(os.path.join(self.data_dir, "store", "data.mdb"))):
            p = subprocess.run([self.bin("ternctl"), "--config", self.config_path, "init"],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError(f"ternctl init failed ({p.returncode}): {p.stdout}{p.stderr}")
        p = subprocess.run([self.bin("ternctl"), "--config", self.config_path, *args],
                           input=input, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError(f"ternctl {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stdout}{p.stderr}")
        return p

    def start(self, binary, *args, wait=True, log_name=None, extra_env=None):
        """Start a daemon (own process group, log in the temp dir); wait for its ports.
        extra_env: variables added to the daemon's environment (e.g. LD_PRELOAD)."""
        log = open(os.path.join(self.dir, (log_name or binary) + ".log"), "ab")
        penv = dict(os.environ, **extra_env) if extra_env else None
        p = subprocess.Popen([self.bin(binary), "--config", self.config_path, *args],
                             stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=self.dir, env=penv)
        self.procs.append(p)
        if wait:
            for name, port in self.ports.items():
                if LISTENERS.get(name) == binary or binary == "tern":
                    if binary == "tern" and not os.path.exists(self.bin(LISTENERS.get(name, ""))):
                        continue
                    wait_port(port, proc=p)
        return p

    def mailbox(self, address, mailbox="INBOX", check=True):
        """The messages of a mailbox as the store holds them, {uid: bytes} in UID order,
        read with the test-only build/bin/tern-store-dump (mailbox=None: its default)."""
        args = [self.bin("tern-store-dump"), "--data-dir", self.data_dir, address]
        if mailbox is not None:
            args.append(mailbox)
        p = subprocess.run(args, capture_output=True, timeout=30)
        if check:
            assert p.returncode == 0, p.stderr
        out, msgs, pos = p.stdout, {}, 0
        while pos < len(out):
            m = re.match(rb"=== uid=(\d+) size=(\d+)\n", out[pos:])
            assert m, out[pos:pos + 80]
            start = pos + m.end()
            msgs[int(m.group(1))] = out[start:start + int(m.group(2))]
            pos = start + int(m.group(2)) + 1
        return msgs

    def log(self, binary):
        path = os.path.join(self.dir, binary + ".log")
        if not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        return p.returncode

    def stop_all(self):
        for p in self.procs:
            self.stop(p)
        self.procs = []


def run_tests(tests):
    """Run test functions, print one line each and the closing 'N passed, N failed'."""
    passed = failed = 0
    for t in tests:
        try:
            t()
            passed += 1
            print(f"PASS {t.__name__}", flush=True)
        except Exception:
            failed += 1
            import traceback
            print(f"FAIL {t.__name__}", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
