"""ternctl against a real store in a temp data_dir: every verb, every bad-input case
(message + exit status), and nothing changed after a failure."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402


def ok(env, *args, input=None):
    p = env.ctl(*args, input=input, check=False)
    assert p.returncode == 0, f"ternctl {args} -> {p.returncode}: {p.stdout}{p.stderr}"
    return p.stdout


def bad(env, args, message, status=65, input=None):
    """A failing verb: exit status, exactly one line on stderr containing `message`,
    and the store unchanged (same `stats`, same user and alias lists)."""
    before = snapshot(env)
    p = env.ctl(*args, input=input, check=False)
    assert p.returncode == status, f"ternctl {args}: want {status}, got {p.returncode}: {p.stderr}"
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, f"ternctl {args}: stderr {p.stderr!r}"
    assert lines[0].startswith("ternctl: ") and message in lines[0], f"ternctl {args}: {lines[0]!r}"
    assert snapshot(env) == before, f"ternctl {args} changed the store"


def snapshot(env):
    out = []
    for args in (("stats",), ("domain", "list"), ("user", "list"), ("alias", "list"), ("admin", "list")):
        p = env.ctl(*args, check=False)
        assert p.returncode == 0, p.stderr
        out.append("\n".join(l for l in p.stdout.splitlines() if not l.startswith("file:")))
    return out


def users(env, domain=None):
    return {l.split()[0]: l for l in ok(env, "user", "list", *([domain] if domain else [])).splitlines()}


def test_domains_and_users():
    with TernEnv() as env:
        assert ok(env, "domain", "add", "Example.TEST").strip() == "domain added: example.test"
        ok(env, "domain", "add", "other.test")
        assert ok(env, "domain", "list").split() == ["example.test", "other.test"]
        bad(env, ("domain", "add", "example.test"), "domain already exists: example.test")
        bad(env, ("domain", "add", "bad domain!"), "malformed domain")
        bad(env, ("domain", "del", "nope.test"), "unknown domain: nope.test")

        ok(env, "user", "add", "alice@example.test", "--password-stdin", input="s3cret pw\n")
        ok(env, "user", "add", "bob@other.test", "--password-hash",
           "$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/")
        ok(env, "user", "add", "carol@example.test", "--disabled")
        ok(env, "user", "enable", "carol@example.test")
        u = users(env)
        assert set(u) == {"alice@example.test", "bob@other.test", "carol@example.test"}
        assert "enabled" in u["alice@example.test"] and "quota=unlimited" in u["alice@example.test"]
        assert set(users(env, "other.test")) == {"bob@other.test"}

        bad(env, ("user", "add", "alice@example.test", "--disabled"), "already exists: alice@example.test")
        bad(env, ("user", "add", "ALICE@example.test", "--password-stdin"), "already exists", input="long enough pw\n")
        bad(env, ("user", "add", "dave@nope.test", "--disabled"), "unknown domain: nope.test")
        bad(env, ("user", "add", "not-an-address", "--disabled"), "malformed address: not-an-address")
        bad(env, ("user", "add", "a b@example.test", "--disabled"), "malformed address")
        bad(env, ("user", "add", "e@example.test", "--password-hash", "plaintext"), "unsupported password hash")
        bad(env, ("user", "add", "e@example.test", "--password-stdin"), "no password on stdin", input="")
        bad(env, ("user", "add"), "usage: ternctl user add", status=64)
        bad(env, ("user", "frobnicate", "x@example.test"), "unknown verb: user frobnicate", status=64)
        bad(env, ("user", "list", "nope.test"), "unknown domain: nope.test")
        bad(env, ("domain", "del", "example.test"), "still has users or aliases")

        ok(env, "user", "quota", "alice@example.test", "10M")
        assert "quota=10.0M" in users(env)["alice@example.test"]
        bad(env, ("user", "quota", "alice@example.test", "10Q"), "bad size: 10Q")
        bad(env, ("user", "quota", "alice@example.test", "-5"), "bad size")
        bad(env, ("user", "quota", "zed@example.test", "1M"), "no such user: zed@example.test")
        ok(env, "user", "quota", "alice@example.test", "0")
        assert "quota=unlimited" in users(env)["alice@example.test"]

        ok(env, "user", "disable", "carol@example.test")
        assert "disabled" in users(env)["carol@example.test"]
        ok(env, "user", "enable", "carol@example.test")
        assert " enabled" in users(env)["carol@example.test"]
        bad(env, ("user", "disable", "zed@example.test"), "no such user")

        ok(env, "user", "passwd", "carol@example.test", input="new password\n")
        bad(env, ("user", "passwd", "zed@example.test"), "no such user", input="long enough pw\n")
        bad(env, ("user", "passwd", "carol@example.test"), "no password on stdin", input="")

        ok(env, "user", "del", "carol@example.test")
        assert "carol@example.test" not in users(env)
        bad(env, ("user", "del", "carol@example.test"), "no such user: carol@example.test")


def test_password_hashes_never_printed():
    """Passwords are hashed (yescrypt) and no hash is ever printed."""
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--password-stdin", input="s3cret pw\n")
        ok(env, "admin", "add", "root", "--password-stdin", input="admin-password\n")
        st = ok(env, "stats")
        assert "accounts: 1" in st
        # The hash itself never appears in any output.
        assert "$y$" not in ok(env, "user", "list") + ok(env, "admin", "list")


def test_aliases():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--disabled")
        ok(env, "user", "add", "bob@example.test", "--disabled")
        ok(env, "alias", "add", "team@example.test", "alice@example.test,bob@example.test,x@remote.test")
        ok(env, "alias", "add", "@example.test", "alice@example.test")
        ok(env, "alias", "add", "t2@example.test", "team@example.test")
        lines = ok(env, "alias", "list").splitlines()
        assert "team@example.test -> alice@example.test,bob@example.test,x@remote.test" in lines
        assert "@example.test -> alice@example.test" in lines
        assert len(ok(env, "alias", "list", "example.test").splitlines()) == 3

        bad(env, ("alias", "add", "t3@example.test", "t3@example.test"), "alias loop: t3@example.test")
        # add on an existing alias appends (bob is a target already: nothing new).
        assert "alias updated: team@example.test" in ok(env, "alias", "add", "team@example.test", "bob@example.test")
        bad(env, ("alias", "add", "alice@example.test", "bob@example.test"), "already exists")
        bad(env, ("alias", "add", "x@nope.test", "bob@example.test"), "unknown domain: nope.test")
        bad(env, ("alias", "add", "bad address", "bob@example.test"), "malformed address")
        bad(env, ("alias", "add", "y@example.test", "bob@example.test,junk"), "malformed address: junk")
        bad(env, ("alias", "add", "y@example.test"), "usage: ternctl alias add", status=64)
        bad(env, ("alias", "del", "nope@example.test"), "no such alias: nope@example.test")
        bad(env, ("alias", "list", "nope.test"), "unknown domain: nope.test")
        ok(env, "alias", "del", "t2@example.test")
        ok(env, "alias", "del", "@example.test")
        assert len(ok(env, "alias", "list").splitlines()) == 1
    with TernEnv() as env:
        # A loop through two aliases.
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--disabled")
        ok(env, "alias", "add", "a1@example.test", "alice@example.test")
        ok(env, "alias", "add", "a2@example.test", "a1@example.test")
        ok(env, "alias", "del", "a1@example.test")
        bad(env, ("alias", "add", "a1@example.test", "a2@example.test"), "alias loop")


def test_autoreply_and_admin():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--disabled")
        body = os.path.join(env.dir, "away.txt")
        with open(body, "w") as f:
            f.write("I am away until Monday.\n")
        out = ok(env, "autoreply", "set", "alice@example.test", "--subject", "Away", "--body-file", body, "--days", "3")
        assert "every 3 days" in out
        bad(env, ("autoreply", "set", "alice@example.test", "--subject", "Away", "--body-file", "/nonexistent"),
            "cannot read body file")
        bad(env, ("autoreply", "set", "alice@example.test", "--subject", "Away", "--body-file", body, "--days", "x"),
            "bad --days: x")
        bad(env, ("autoreply", "set", "zed@example.test", "--subject", "S", "--body-file", body), "no such user")
        bad(env, ("autoreply", "set", "alice@example.test", "--body-file", body), "usage", status=64)
        ok(env, "autoreply", "off", "alice@example.test")

        ok(env, "admin", "add", "root", "--password-stdin", input="root password\n")
        ok(env, "admin", "add", "helper", "--domains", "example.test")
        lines = ok(env, "admin", "list").splitlines()
        assert "root global" in lines and "helper example.test" in lines
        bad(env, ("admin", "add", "root"), "admin already exists: root")
        bad(env, ("admin", "add", "x", "--domains", "nope.test"), "unknown domain")
        bad(env, ("admin", "add", "bad name"), "bad admin name")


def test_check_backup_stats_status():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--disabled")
        assert ok(env, "check").strip() == "ok: no invariant breaches"
        assert ok(env, "check", "--repair").strip() == "ok: no invariant breaches"
        st = ok(env, "stats")
        assert "domains: 1" in st and "accounts: 1" in st and "mailboxes: 6" in st and "schema: 4" in st
        dest = os.path.join(env.dir, "backup1")
        out = ok(env, "backup", dest)
        assert os.path.exists(os.path.join(dest, "store", "data.mdb")), out
        bad(env, ("backup", dest), "backup directory is not empty")
        # The backup opens as a data_dir with the same content.
        p = subprocess.run([env.bin("ternctl"), "--config", env.config_path, "--data-dir", dest, "user", "list"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith("alice@example.test"), p.stdout + p.stderr

        # status: no daemons, then a fake pid file for a live process and a stale one.
        out = ok(env, "status")
        assert "tern-mta    not running" in out, out
        run = os.path.join(env.data_dir, "run")
        os.makedirs(run, exist_ok=True)
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            with open(os.path.join(run, "tern-mta.pid"), "w") as f:
                f.write(f"{sleeper.pid}\n")
            with open(os.path.join(run, "tern-pop3d.pid"), "w") as f:
                f.write("999999999\n")
            time.sleep(1.1)
            out = ok(env, "status")
            mta = [l for l in out.splitlines() if l.startswith("tern-mta ")][0]
            assert f"running  pid {sleeper.pid}  uptime" in mta, out
            assert [l for l in out.splitlines() if l.startswith("tern-pop3d ")][0].endswith("not running"), out
        finally:
            sleeper.kill()
            sleeper.wait()

        bad(env, ("frobnicate",), "unknown verb: frobnicate", status=64)
        bad(env, ("stats", "--bogus"), "unknown option --bogus", status=64)
        p = subprocess.run([env.bin("ternctl"), "--config", "/nonexistent/tern.toml", "stats"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 78 and p.stderr.startswith("ternctl: "), p.stderr


if __name__ == "__main__":
    # Our TernEnv dirs live under a private parent: a concurrent cleanup of
    # /tmp/tern-it-* elsewhere removed them mid-test.
    tempfile.tempdir = tempfile.mkdtemp(prefix="ternctl-test-")
    try:
        run_tests([test_domains_and_users, test_password_hashes_never_printed, test_aliases,
                   test_autoreply_and_admin, test_check_backup_stats_status])
    finally:
        shutil.rmtree(tempfile.tempdir, ignore_errors=True)
