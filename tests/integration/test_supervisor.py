"""The `tern` supervisor: --check-config, pid files, restart of a daemon killed with
SIGKILL (new pid, port accepts again, the log line), SIGTERM stops every daemon in bound
time. Runs the real tern-mta / tern-pop3d from TERN_BIN (whichever are built).
As root (CI), tern binds the ports itself and runs the daemons as user `tern`."""
import os
import poplib
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, TernEnv, client_tls_context, run_tests, wait_port, wait_until  # noqa: E402

TERN = os.path.join(BIN, "tern")
# daemon binary -> the listeners the test gives it
DAEMONS = {"tern-pop3d": ["pop3", "pop3s"], "tern-mta": ["smtp", "submission", "submissions"]}


def built_daemons():
    return [d for d in DAEMONS if os.access(os.path.join(BIN, d), os.X_OK)]


def read_pid(path, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                return int(text)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{path} not written within {timeout}s")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


GREETING = {"tern-pop3d": b"+OK", "tern-mta": b"220"}


def greets(port, banner, timeout=10.0):
    """The daemon itself answers (as root, tern holds the listening socket, so a bare
    connect would succeed even while no daemon runs)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(100).startswith(banner):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no {banner!r} greeting on port {port} within {timeout}s")


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


FIRST_STEPS = re.compile(r"tern: first start - created an empty store in (\S+) \(no domain, mailbox or admin yet\)\.\n"
                         r"\s+Create the first domain and admin:\n"
                         r"\s+ternctl --config (\S+) domain add example\.com\n"
                         r"\s+ternctl --config (\S+) admin add admin --password-stdin\n")


def first_steps(env, log="tern"):
    """With a config file, the first start creates an empty store and prints the two
    ternctl commands that make the first domain and admin."""
    wait_until(lambda: FIRST_STEPS.search(env.log(log)), 10, "the first-start instructions")
    m = FIRST_STEPS.search(env.log(log))
    assert m.group(1) == env.data_dir and m.group(2) == env.config_path == m.group(3), m.group(0)
    assert "password" not in env.log(log).split("Create the first")[0], env.log(log)


def add_login(env):
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "demo@example.test", "--password-stdin", input="demo-password-1\n")
    return {"mailbox": "demo@example.test", "password": "demo-password-1"}


def test_first_start_only_once():
    """A config file's first start creates an empty store, nothing in it, and says how to
    fill it; the second start says nothing. (data_dir reachable by path here.)"""
    daemons = built_daemons()
    if not daemons:
        print("SKIP test_first_start_only_once: no daemon built yet")
        return
    with TernEnv(listeners=DAEMONS[daemons[0]]) as env:
        os.chmod(env.dir, 0o755)
        os.chmod(env.config_path, 0o644)
        tern = env.start("tern", log_name="tern")
        first_steps(env)
        assert env.ctl("domain", "list").stdout == "", env.ctl("domain", "list").stdout
        assert "admin" not in env.ctl("admin", "list").stdout
        assert "demo@" not in env.log("tern")
        assert env.stop(tern) == 0
        tern = env.start("tern", log_name="tern2")
        read_pid(os.path.join(env.data_dir, "run", daemons[0] + ".pid"))
        assert "first start" not in env.log("tern2"), env.log("tern2")
        assert env.stop(tern) == 0


def test_check_config_good():
    with TernEnv(listeners=["pop3", "smtp"]) as env:
        p = subprocess.run([TERN, "--config", env.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert f'listen = ["127.0.0.1:{env.port("pop3")}"]' in p.stdout, p.stdout
        assert f'data_dir = "{env.data_dir}"' in p.stdout, p.stdout
        assert 'message_size = "50M"' in p.stdout, p.stdout
        assert not os.path.exists(env.data_dir), "--check-config must not create data_dir"


def test_check_config_default():
    p = subprocess.run([TERN, "--check-config"], capture_output=True, text=True, timeout=30,
                       cwd="/tmp")
    assert p.returncode == 0, p.stderr
    for port in (2525, 2587, 2465, 1143, 1993, 1110, 1995, 8080):
        assert f'"127.0.0.1:{port}"' in p.stdout, (port, p.stdout)
    assert 'data_dir = "/tmp/var"' in p.stdout, p.stdout


def test_check_config_bad():
    with TernEnv(listeners=["pop3"]) as env:
        bad = os.path.join(env.dir, "bad.toml")
        with open(bad, "w") as f:
            f.write('hostname = "mx.example.test"\n[limits]\nmessage_size = "50Q"\n')
        p = subprocess.run([TERN, "--config", bad, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 78, (p.returncode, p.stderr)
        assert p.stderr == f'{bad}:3: [limits] message_size: bad size "50Q" (use K, M or G)\n', p.stderr
        assert p.stdout == ""
        # the same error stops a normal start, before anything runs
        p = subprocess.run([TERN, "--config", bad], capture_output=True, text=True, timeout=30)
        assert p.returncode == 78, (p.returncode, p.stderr)
        missing = os.path.join(env.dir, "missing.toml")
        p = subprocess.run([TERN, "--config", missing, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 78 and "cannot read" in p.stderr, (p.returncode, p.stderr)
        p = subprocess.run([TERN, "--bogus"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 64 and "unknown option --bogus" in p.stderr, p.stderr


def test_restart_and_stop():
    daemons = built_daemons()
    if not daemons:
        print("SKIP test_restart_and_stop: neither tern-mta nor tern-pop3d is built yet")
        return
    listeners = [l for d in daemons for l in DAEMONS[d]]
    with TernEnv(listeners=listeners) as env:
        # As root the daemons run as user `tern`, and the temp dir is 0700 root (as a
        # clone under /root): tern hands them their binary, data_dir and config.
        assert os.stat(env.dir).st_mode & 0o077 == 0
        tern = env.start("tern")
        run = os.path.join(env.data_dir, "run")
        first_steps(env)
        login = add_login(env)
        if "tern-pop3d" in daemons:
            # the printed demo login works against the real POP3 daemon (implicit TLS)
            p = poplib.POP3_SSL("127.0.0.1", env.port("pop3s"), timeout=10,
                                context=client_tls_context())
            p.user(login["mailbox"])
            p.pass_(login["password"])
            assert p.stat()[0] == 0
            p.quit()
        assert read_pid(os.path.join(run, "tern.pid")) == tern.pid
        pids = {d: read_pid(os.path.join(run, d + ".pid")) for d in daemons}
        for d, pid in pids.items():
            assert alive(pid), d
            if os.geteuid() == 0:
                import pwd
                assert uid_of(pid) == pwd.getpwnam("tern").pw_uid, (d, uid_of(pid))

        for d in daemons:
            greets(env.port(DAEMONS[d][0]), GREETING[d])
        victim = daemons[0]
        port = env.port(DAEMONS[victim][0])
        t0 = time.time()
        os.kill(pids[victim], signal.SIGKILL)
        pid_file = os.path.join(run, victim + ".pid")

        def restarted():
            try:
                with open(pid_file) as f:
                    text = f.read()
                return text.endswith("\n") and int(text) != pids[victim]
            except (FileNotFoundError, ValueError):
                return False
        wait_until(restarted, 10, f"{victim} to be restarted")
        new_pid = read_pid(pid_file)
        assert alive(new_pid)
        wait_port(port, timeout=10)
        greets(port, GREETING[victim])
        took = time.time() - t0
        assert took < 8, took
        line = f"{victim} (pid {pids[victim]}) killed by signal 9; restarting in 1s"
        wait_until(lambda: line in env.log("tern"), 5, "the restart log line")
        assert re.search(re.escape(f"{victim} started (pid {new_pid})"), env.log("tern"))
        # the other daemons were left alone
        for d, pid in pids.items():
            if d != victim:
                assert alive(pid), d

        # SIGHUP: validated, then forwarded; the daemons keep running (reload, not restart)
        os.kill(tern.pid, signal.SIGHUP)
        wait_until(lambda: "SIGHUP: asking the daemons to reload" in env.log("tern"), 5, "SIGHUP line")
        with open(env.config_path, "a") as f:
            f.write("\n[limits]\nrecipients = 0\n")
        os.kill(tern.pid, signal.SIGHUP)
        wait_until(lambda: "[limits] recipients: 0 is out of range (1 to 100000); the daemons keep "
                   "their current config" in env.log("tern"), 5, "SIGHUP config error line")
        with open(env.config_path, "w") as f:
            f.write(env.config_text)
        time.sleep(0.5)
        assert alive(new_pid)
        for d, pid in pids.items():
            if d != victim:
                assert alive(pid), d

        # SIGTERM to tern alone (not its process group): it stops every daemon.
        all_pids = [new_pid] + [p for d, p in pids.items() if d != victim]
        t0 = time.time()
        os.kill(tern.pid, signal.SIGTERM)
        rc = tern.wait(timeout=15)
        took = time.time() - t0
        assert rc == 0, rc
        assert took < 12, took
        for pid in all_pids:
            assert not alive(pid), pid
        assert not os.path.exists(os.path.join(run, "tern.pid"))
        for d in daemons:
            assert not os.path.exists(os.path.join(run, d + ".pid")), d
        assert "all daemons stopped" in env.log("tern")
        print(f"tern stopped every daemon in {took:.2f}s")


if __name__ == "__main__":
    run_tests([test_check_config_good, test_check_config_default, test_check_config_bad,
               test_restart_and_stop, test_first_start_only_once])
