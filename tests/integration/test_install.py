"""Production install: scripts/install --destdir puts the layout in a temp dir
(/usr/sbin, /etc/tern/tern.toml, /var/lib/tern, tern.service); the installed tern starts
as root on (a loopback copy of) the installed config and serves; the printed first-start
commands work; `systemd-analyze verify` accepts the unit; --deb builds a package."""
import os
import poplib
import re
import shutil
import signal
import smtplib
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, SRC, client_tls_context, free_port, run_tests, wait_port  # noqa: E402

INSTALL = os.path.join(SRC, "scripts", "install")


def stage(root):
    p = subprocess.run([INSTALL, "--no-build", "--destdir", root], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TERN_BIN": BIN})
    assert p.returncode == 0, p.stdout + p.stderr


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_layout():
    root = tempfile.mkdtemp(prefix="tern-install-")
    try:
        stage(root)
        for b in ("tern", "tern-mta", "tern-pop3d", "ternctl"):
            st = os.stat(os.path.join(root, "usr/sbin", b))
            assert stat.S_IMODE(st.st_mode) == 0o755, b
        conf = os.path.join(root, "etc/tern/tern.toml")
        text = open(conf).read()
        assert 'data_dir = "/var/lib/tern"' in text and "@HOSTNAME@" not in text
        assert '#cert = "/etc/letsencrypt/live/' in text
        assert stat.S_IMODE(os.stat(os.path.join(root, "var/lib/tern")).st_mode) == 0o750
        assert os.path.exists(os.path.join(root, "lib/systemd/system/tern.service"))
        assert os.path.exists(os.path.join(root, "usr/share/doc/tern/tern.example.toml"))
        p = subprocess.run([os.path.join(root, "usr/sbin/tern"), "--check-config", "--config", conf],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert 'listen = ["0.0.0.0:25", "[::]:25"]' in p.stdout
        # a second install keeps the admin's config and puts the new one beside it
        with open(conf, "a") as f:
            f.write("# edited by the admin\n")
        stage(root)
        assert open(conf).read().endswith("# edited by the admin\n")
        assert os.path.exists(conf + ".dist")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_installed_tern_starts_as_root_and_serves():
    if os.geteuid() != 0 or not os.access(os.path.join(BIN, "tern-pop3d"), os.X_OK):
        print("SKIP test_installed_tern_starts_as_root_and_serves: needs root, tern-mta and tern-pop3d")
        return
    root = tempfile.mkdtemp(prefix="tern-install-")
    proc = None
    try:
        stage(root)
        text = open(os.path.join(root, "etc/tern/tern.toml")).read()
        # the installed config, on loopback and free ports, with data under the temp root
        ports = {}

        def local(m):
            port = free_port()
            ports.setdefault(current[0], port)
            return f'listen = ["127.0.0.1:{port}"]'
        lines, current = [], [""]
        for line in text.splitlines():
            if line.startswith("["):
                current[0] = line.split("]")[0][1:]
            if line.startswith("listen = "):
                line = local(None)
            lines.append(line)
        text = "\n".join(lines) + "\n"
        data_dir = os.path.join(root, "var/lib/tern")
        text = text.replace('data_dir = "/var/lib/tern"', f'data_dir = "{data_dir}"')
        text = re.sub(r'hostname = "[^"]*"', 'hostname = "mx.example.test"', text)
        conf = os.path.join(root, "etc/tern/tern.toml")
        with open(conf, "w") as f:
            f.write(text)
        log_path = os.path.join(root, "tern.log")
        proc = subprocess.Popen([os.path.join(root, "usr/sbin/tern"), "--config", conf],
                                stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)

        def log():
            return open(log_path, errors="replace").read()
        for name in ("smtp", "pop3s"):
            wait_port(ports[name], proc=proc)
        # no demo data with a config file: the two printed commands make the first domain and admin
        m = wait_for(lambda: re.search(r"\n\s+(ternctl --config \S+ domain add example\.com)\n"
                                       r"\s+(ternctl --config \S+ admin add admin --password-stdin)\n", log()),
                     10, "the first-start commands")
        ternctl = os.path.join(root, "usr/sbin/ternctl")
        for cmd, stdin in ((m.group(1), None), (m.group(2), "admin-password-1\n")):
            argv = cmd.split()
            p = subprocess.run([ternctl] + argv[1:], input=stdin, capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (cmd, p.stdout, p.stderr)
        p = subprocess.run([ternctl, "--config", conf, "user", "add", "you@example.com", "--password-stdin"],
                           input="you-password-1\n", capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
            code, banner = s.ehlo("client.example.org")
            assert code == 250
            s.sendmail("a@example.org", ["you@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
        pop = wait_for(lambda: _pop3s(ports["pop3s"]), 10, "POP3S")
        pop.user("you@example.com")
        pop.pass_("you-password-1")
        assert pop.stat()[0] == 1
        pop.quit()
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        proc = None
        assert " error: " not in log(), log()
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _pop3s(port):
    try:
        return poplib.POP3_SSL("127.0.0.1", port, timeout=5, context=client_tls_context())
    except OSError:
        return None


def test_systemd_unit_verifies():
    unit = open(os.path.join(SRC, "dist", "tern.service")).read()
    for directive in ("Type=notify", "ExecStart=/usr/sbin/tern --config /etc/tern/tern.toml",
                      "ExecReload=/bin/kill -HUP $MAINPID", "LimitNOFILE=", "WatchdogSec=", "ProtectSystem=strict",
                      "ReadWritePaths=/var/lib/tern", "NoNewPrivileges=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                      "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
                      "ProtectKernelLogs=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                      "SystemCallFilter=@system-service", "SyslogFacility=mail"):
        assert directive in unit, directive
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIP test_systemd_unit_verifies: systemd-analyze is not installed (apt-get install systemd)")
        return
    root = tempfile.mkdtemp(prefix="tern-unit-")
    try:
        stage(root)
        # verify wants ExecStart's binary to exist: point it at the staged one
        staged = os.path.join(root, "tern.service")
        with open(staged, "w") as f:
            f.write(unit.replace("/usr/sbin/", os.path.join(root, "usr/sbin") + "/"))
        p = subprocess.run([analyze, "verify", staged], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stderr.strip() == "", (p.returncode, p.stderr)
        # a broken directive is caught (the check can fail)
        bad = os.path.join(root, "bad", "tern.service")
        os.makedirs(os.path.dirname(bad))
        with open(bad, "w") as f:
            f.write(open(staged).read().replace("Type=notify", "Type=notfy"))
        p = subprocess.run([analyze, "verify", bad], capture_output=True, text=True, timeout=60)
        assert "Failed to parse service type" in p.stderr, p.stderr
        p = subprocess.run([analyze, "security", "--offline=yes", staged], capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for tern.service: ([0-9.]+)", p.stdout)
        if m:
            print(f"systemd-analyze security: exposure {m.group(1)}")
            assert float(m.group(1)) <= 4.0, p.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_deb_package():
    if not shutil.which("dpkg-deb"):
        print("SKIP test_deb_package: no dpkg-deb")
        return
    out = tempfile.mkdtemp(prefix="tern-deb-")
    try:
        p = subprocess.run([INSTALL, "--no-build", "--deb", out], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "TERN_BIN": BIN})
        assert p.returncode == 0, p.stdout + p.stderr
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        deb = os.path.join(out, debs[0])
        files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
        for f in ("./usr/sbin/tern", "./usr/sbin/tern-mta", "./usr/sbin/ternctl", "./etc/tern/tern.toml",
                  "./lib/systemd/system/tern.service", "./var/lib/tern/"):
            assert re.search(re.escape(f) + r"$", files, re.M), (f, files)
        assert "root/root" in files
        fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Depends"], capture_output=True, text=True,
                                check=True).stdout
        assert "Package: tern" in fields and "libssl3" in fields and "liblmdb0" in fields, fields
        control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True, check=True).stdout
        assert b"conffiles" in control and b"postinst" in control
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_layout, test_systemd_unit_verifies, test_installed_tern_starts_as_root_and_serves,
               test_deb_package])
