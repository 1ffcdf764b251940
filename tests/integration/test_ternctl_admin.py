"""ternctl as a new admin trips over it (issue 18, "What admins trip over"): no store is
made by accident, user del refuses while aliases/catch-all/archive point at the user,
alias targets are checked and edited one at a time, autoreply list/show, password rules,
admin passwd, user show, --json everywhere, sysexits codes, backup modes, restore that
serves again (POP3), domain names (single labels, IP addresses, IDNA)."""
import json
import os
import poplib
import shutil
import smtplib
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from test_ternctl import bad, ok  # noqa: E402

PW = "long enough pw"


def raw_ctl(env, *args, cwd=None, input=None):
    return subprocess.run([env.bin("ternctl"), *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, input=input)


def test_no_store_made_by_accident():
    with TernEnv() as env:
        elsewhere = tempfile.mkdtemp(dir=env.dir)
        # The embedded default config (data_dir ./var) from another directory: refused,
        # nothing created there. Before: an empty store under ./var and exit 0.
        p = raw_ctl(env, "user", "list", cwd=elsewhere)
        assert p.returncode == 69, (p.returncode, p.stderr)
        assert "no store in" in p.stderr and "ternctl init" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(elsewhere, "var")), os.listdir(elsewhere)
        p = raw_ctl(env, "--config", env.config_path, "domain", "add", "example.test")
        assert p.returncode == 69, p.stderr
        assert not os.path.exists(os.path.join(env.data_dir, "store", "data.mdb"))
        p = raw_ctl(env, "--config", env.config_path, "init")
        assert p.returncode == 0 and "store created" in p.stdout, p.stdout + p.stderr
        p = raw_ctl(env, "--config", env.config_path, "init")
        assert p.returncode == 0 and "already exists" in p.stdout, p.stdout + p.stderr
        ok(env, "domain", "add", "example.test")


def test_user_del_refuses_dependents():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "domain", "add", "other.test")
        for u in ("alice", "bob"):
            ok(env, "user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
        ok(env, "alias", "add", "sales@example.test", "alice@example.test,bob@example.test")
        ok(env, "alias", "add", "solo@example.test", "alice@example.test")
        ok(env, "alias", "add", "@other.test", "alice@example.test")
        ok(env, "domain", "archive", "other.test", "alice@example.test")
        # Before: deleted silently, leaving the domain answering 550.
        bad(env, ("user", "del", "alice@example.test"),
            "refused: alice@example.test is the target of alias sales@example.test, "
            "alias solo@example.test, archive of other.test, catch-all @other.test")
        out = ok(env, "user", "del", "alice@example.test", "--force")
        assert "removed:" in out, out
        aliases = json.loads(ok(env, "alias", "list", "--json"))
        assert aliases == [{"source": "sales@example.test", "targets": ["bob@example.test"]}], aliases
        doms = json.loads(ok(env, "domain", "list", "--json"))
        assert {"domain": "other.test", "archive": None} in doms, doms
        ok(env, "user", "del", "bob@example.test", "--force")
        assert json.loads(ok(env, "alias", "list", "--json")) == []


def test_alias_targets():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        for u in ("alice", "bob", "carol"):
            ok(env, "user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
        # Before: "a,,b" silently became "a,b".
        bad(env, ("alias", "add", "x@example.test", "alice@example.test,,bob@example.test"), "empty target")
        bad(env, ("alias", "add", "x@example.test", "alice@example.test,"), "empty target")
        bad(env, ("alias", "add", "x@example.test", "nobody@example.test"),
            "a local target does not exist: nobody@example.test")
        ok(env, "alias", "add", "team@example.test", "alice@example.test")
        # add on an existing alias appends (before: "already exists").
        out = ok(env, "alias", "add", "team@example.test", "bob@example.test,far@remote.test")
        assert "team@example.test -> alice@example.test,bob@example.test,far@remote.test" in out, out
        ok(env, "alias", "del", "team@example.test", "alice@example.test")
        assert json.loads(ok(env, "alias", "list", "--json"))[0]["targets"] == ["bob@example.test", "far@remote.test"]
        bad(env, ("alias", "del", "team@example.test", "carol@example.test"), "not a target of team@example.test")
        ok(env, "alias", "set", "team@example.test", "carol@example.test")
        assert ok(env, "alias", "list").strip() == "team@example.test -> carol@example.test"
        ok(env, "alias", "del", "team@example.test", "carol@example.test")  # the last one
        assert ok(env, "alias", "list").strip() == ""
        bad(env, ("alias", "set", "new@example.test", "bob@example.test"), "no such alias")


def test_autoreply_list_show():
    with TernEnv() as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--password-stdin", input=PW + "\n")
        ok(env, "user", "add", "bob@example.test", "--password-stdin", input=PW + "\n")
        body = os.path.join(env.dir, "away.txt")
        with open(body, "w") as f:
            f.write("Back on Monday.\n")
        ok(env, "autoreply", "set", "alice@example.test", "--subject", "Away", "--body-file", body, "--days", "2")
        assert ok(env, "autoreply", "list").strip() == "alice@example.test days=2 subject=Away"
        assert json.loads(ok(env, "autoreply", "list", "--json")) == [
            {"address": "alice@example.test", "subject": "Away", "days": 2}]
        out = ok(env, "autoreply", "show", "alice@example.test")
        assert "subject: Away" in out and "Back on Monday." in out, out
        j = json.loads(ok(env, "autoreply", "show", "alice@example.test", "--json"))
        assert j["body"] == "Back on Monday.\n" and j["enabled"] is True, j
        assert json.loads(ok(env, "autoreply", "show", "bob@example.test", "--json"))["enabled"] is False
        bad(env, ("autoreply", "show", "zed@example.test"), "no such user")


def test_passwords_show_json_exit_codes():
    with TernEnv(extra_config="[auth]\npassword_min_length = 10\n") as env:
        ok(env, "domain", "add", "example.test")
        bad(env, ("user", "add", "a@example.test"), "no password given", status=64)
        bad(env, ("user", "add", "a@example.test", "--password-stdin"), "password too short: at least 10",
            input="short pw\n")
        out = ok(env, "user", "add", "a@example.test", "--disabled")
        assert "disabled, no password" in out, out
        bad(env, ("user", "passwd", "a@example.test"), "password too short", input="123456789\n")
        ok(env, "user", "passwd", "a@example.test", input="1234567890\n")
        ok(env, "user", "enable", "a@example.test")
        show = ok(env, "user", "show", "a@example.test")
        assert "status: enabled" in show and "yescrypt + SCRAM-SHA-256" in show, show
        j = json.loads(ok(env, "user", "show", "a@example.test", "--json"))
        assert j["address"] == "a@example.test" and j["used_bytes"] == 0 and j["quota_bytes"] == 0, j
        ok(env, "user", "quota", "a@example.test", "1M")
        j = json.loads(ok(env, "user", "list", "--json"))
        assert j == [{"address": "a@example.test", "enabled": True, "quota_bytes": 1048576,
                      "quota_messages": 0, "used_bytes": 0, "messages": 0}], j
        bad(env, ("user", "show", "zed@example.test"), "no such user: zed@example.test")

        ok(env, "admin", "add", "root", "--password-stdin", input="root password\n")
        bad(env, ("admin", "passwd", "nobody"), "no such admin: nobody", input="whatever long\n")
        bad(env, ("admin", "passwd", "root"), "password too short", input="x\n")
        ok(env, "admin", "passwd", "root", input="a new root password\n")
        assert json.loads(ok(env, "admin", "list", "--json")) == [{"name": "root", "global": True, "domains": []}]
        # Bad data is 65 (before: 1), usage 64.
        bad(env, ("domain", "add", "bad domain!"), "malformed domain", status=65)
        bad(env, ("user", "show"), "usage", status=64)


def test_domain_names():
    with TernEnv() as env:
        for name in ("localhost", "example", "192.0.2.1", "[192.0.2.1]", "10.0.0.1.", "a..b"):
            bad(env, ("domain", "add", name), "malformed domain")
        # IDNA: U-labels in, A-labels stored, for domains and addresses alike.
        assert ok(env, "domain", "add", "Bücher.Example").strip() == "domain added: xn--bcher-kva.example"
        bad(env, ("domain", "add", "xn--bcher-kva.example"), "domain already exists: xn--bcher-kva.example")
        ok(env, "user", "add", "anna@bücher.example", "--password-stdin", input=PW + "\n")
        assert [u["address"] for u in json.loads(ok(env, "user", "list", "--json"))] == [
            "anna@xn--bcher-kva.example"]
        out = ok(env, "user", "show", "ANNA@XN--BCHER-KVA.EXAMPLE")
        assert "anna@xn--bcher-kva.example" in out, out


def test_backup_modes_restore_and_serve():
    with TernEnv(listeners=["smtp", "pop3"], sections={"pop3": "allow_plaintext_auth = true"}) as env:
        ok(env, "domain", "add", "example.test")
        ok(env, "user", "add", "alice@example.test", "--password-stdin", input=PW + "\n")
        mta = env.start("tern-mta")
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
            s.sendmail("x@remote.test", ["alice@example.test"], b"Subject: kept\r\n\r\nin the backup\r\n")
        dest = os.path.join(env.dir, "bk")
        ok(env, "backup", dest)
        f = os.path.join(dest, "store", "data.mdb")
        mode = stat.S_IMODE(os.stat(f).st_mode)
        assert mode & 0o007 == 0 and mode in (0o600, 0o640), oct(mode)  # before: 0644
        assert stat.S_IMODE(os.stat(os.path.join(dest, "store")).st_mode) == 0o700
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
            s.sendmail("x@remote.test", ["alice@example.test"], b"Subject: after\r\n\r\nnot in the backup\r\n")
        ok(env, "user", "del", "alice@example.test")
        # restore refuses while tern runs (its pid file), then works with it stopped.
        run = os.path.join(env.data_dir, "run")
        os.makedirs(run, exist_ok=True)
        with open(os.path.join(run, "tern-mta.pid"), "w") as pf:
            pf.write(f"{mta.pid}\n")
        bad(env, ("restore", dest), "stop tern first", status=75)
        env.stop(mta)
        os.unlink(os.path.join(run, "tern-mta.pid"))
        bad(env, ("restore", os.path.join(env.dir, "nothing")), "no backup in")
        out = ok(env, "restore", dest)
        assert "store restored" in out, out
        env.start("tern-pop3d")
        p = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=30)
        p.user("alice@example.test")
        p.pass_(PW)
        count, _ = p.stat()
        assert count == 1, count
        msg = b"\r\n".join(p.retr(1)[1])
        assert b"in the backup" in msg, msg
        p.quit()


if __name__ == "__main__":
    tempfile.tempdir = tempfile.mkdtemp(prefix="ternctl-admin-test-")
    try:
        run_tests([test_no_store_made_by_accident, test_user_del_refuses_dependents, test_alias_targets,
                   test_autoreply_list_show, test_passwords_show_json_exit_codes, test_domain_names,
                   test_backup_modes_restore_and_serve])
    finally:
        shutil.rmtree(tempfile.tempdir, ignore_errors=True)
