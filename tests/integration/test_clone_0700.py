"""A fresh Debian admin is root and clones into /root (mode 0700). This clones the tree
into a 0700 temp dir, puts the built binaries in the clone's build/bin and starts
build/bin/tern there on the embedded dev config, as scripts/run does after building:
the daemons (run as user tern) start, the dev data lands in the clone's ./var, the demo
login printed on first start works over POP3S, and the printed self-signed certificate
verifies for 127.0.0.1. Root only; skipped when the dev ports are taken."""
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, SRC, run_tests  # noqa: E402

DEV_PORTS = [2525, 2587, 2465, 1143, 1993, 1110, 1995, 8080]
BINARIES = ["tern", "tern-mta", "tern-pop3d", "tern-imapd", "tern-web", "ternctl"]


def ports_free():
    for port in DEV_PORTS:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return port
    return None


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_scripts_run_from_a_clone_under_a_0700_dir():
    if os.geteuid() != 0:
        print("SKIP test_scripts_run_from_a_clone_under_a_0700_dir: needs root")
        return
    if not os.access(os.path.join(BIN, "tern-pop3d"), os.X_OK):
        print("SKIP test_scripts_run_from_a_clone_under_a_0700_dir: no tern-pop3d")
        return
    busy = ports_free()
    if busy:
        print(f"SKIP test_scripts_run_from_a_clone_under_a_0700_dir: dev port {busy} is in use")
        return
    home = tempfile.mkdtemp(prefix="tern-root-")  # 0700, like /root
    assert os.stat(home).st_mode & 0o777 == 0o700
    proc = None
    try:
        clone = os.path.join(home, "tern")
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", SRC, clone], check=True, timeout=120,
                       capture_output=True)
        os.makedirs(os.path.join(clone, "build", "bin"))
        for b in BINARIES:
            if os.access(os.path.join(BIN, b), os.X_OK):
                shutil.copy2(os.path.join(BIN, b), os.path.join(clone, "build", "bin", b))
        log_path = os.path.join(home, "run.log")
        log = open(log_path, "wb")
        # scripts/run ends with exactly this: exec build/bin/tern "$@" in the clone.
        proc = subprocess.Popen(["build/bin/tern"], cwd=clone, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

        def text():
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")
        m = wait_for(lambda: re.search(r"mailbox (\S+) password (\S+),", text()), 20, "the demo login")
        mailbox, password = m.group(1), m.group(2)
        cert = wait_for(lambda: re.search(r"TLS clients find the self-signed certificate to trust in (\S+)",
                                          text()), 20, "the certificate line").group(1)
        assert cert == os.path.join(clone, "var", "tls", "cert.pem"), cert
        wait_for(lambda: "tern-pop3d" in text() and "serving" in text(), 20, "tern-pop3d serving")

        # the printed certificate verifies for 127.0.0.1 (SAN), and the demo login works
        ctx = ssl.create_default_context(cafile=cert)
        p = wait_for(lambda: _try_pop3s(ctx), 20, "POP3S on 1995")
        p.user(mailbox)
        p.pass_(password)
        assert p.stat() == (0, 0)
        p.quit()

        pid = int(open(os.path.join(clone, "var", "run", "tern-pop3d.pid")).read())
        with open(f"/proc/{pid}/status") as f:
            uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
        assert uid == pwd.getpwnam("tern").pw_uid, uid
        assert os.stat(os.path.join(clone, "var", "store")).st_uid == uid
        assert "by its path (Permission denied); the daemons run inside it" in text(), text()
        # the daemons run in data_dir by /proc/self/cwd, but log the directory configured
        var = os.path.join(clone, "var")
        for d in ("tern-mta", "tern-pop3d", "tern-imapd", "tern-web"):
            serving = re.escape(d) + r" \S+ .* serving .*data_dir=" + re.escape(var) + r"$"
            wait_for(lambda: re.search(serving, text(), re.M), 20, d + " naming data_dir " + var)
        assert "data_dir=/proc/self/cwd" not in text(), text()
        for bad in (" error: ", " critical: ", "cannot exec", "cannot switch", "cannot enter"):
            assert bad not in text(), (bad, text())
        # ternctl from the clone sees the same ./var
        out = subprocess.run([os.path.join(clone, "build", "bin", "ternctl"), "user", "list"], cwd=clone,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and mailbox in out.stdout, (out.returncode, out.stdout, out.stderr)

        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        proc = None
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


def _try_pop3s(ctx):
    try:
        return poplib.POP3_SSL("127.0.0.1", 1995, timeout=5, context=ctx)
    except OSError:
        return None


if __name__ == "__main__":
    run_tests([test_scripts_run_from_a_clone_under_a_0700_dir])
