"""Logins against the real daemons (issue 18, "Logins"): the throttle counts the
canonical account whatever the spelling and refuses after the limit, in SMTP and POP3
alike; an unknown SCRAM login gets a server-first like a real one (salt stable across
connections and restarts); a failed login takes the same time whether the account is
unknown, disabled or hashed with $6$, $2b$ or yescrypt.

Clients use several loopback source addresses (127.0.0.x) so that the per-IP limit
does not hide the per-account one.
"""
import base64
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt: $6$ and $2b$ hashes to import
import os
import smtplib
import socket
import ssl
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402

PW = "correct horse 1"
env = None


class Pop3:
    """A raw POP3 client bound to a source address (poplib cannot bind)."""

    def __init__(self, src="127.0.0.1"):
        self.s = socket.create_connection(("127.0.0.1", env.port("pop3")), timeout=30,
                                          source_address=(src, 0))
        self.f = self.s.makefile("rb")
        self.line()

    def line(self):
        return self.f.readline().decode()

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.line()

    def close(self):
        try:
            self.s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        self.s.close()


def pop3_login(user, pw, src="127.0.0.1"):
    p = Pop3(src)
    try:
        r = p.cmd("USER " + user)
        assert r.startswith("+OK"), r
        return p.cmd("PASS " + pw)
    finally:
        p.close()


def smtp_auth_plain(user, pw, src="127.0.0.1"):
    with smtplib.SMTP_SSL("127.0.0.1", env.port("submissions"), timeout=30,
                          context=client_tls_context(), source_address=(src, 0)) as s:
        s.ehlo()
        blob = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
        return s.docmd("AUTH", "PLAIN " + blob)


def test_spellings_count_as_one_account_and_refuse_pop3():
    # account_failures = 3: three wrong passwords, each spelled differently and from
    # a different IP; then even the right password is refused. Before: the three
    # spellings were three keys, the counter only delayed, and the login succeeded.
    spellings = ["bob@example.test", " bob@example.test", "bob@example.test."]
    for i, u in enumerate(spellings):
        r = pop3_login(u, "wrong", src=f"127.0.0.{10 + i}")
        assert r.startswith("-ERR [AUTH]"), (u, r)
    r = pop3_login("BOB@example.test.", PW, src="127.0.0.20")
    assert r.startswith("-ERR [SYS/TEMP] Too many failed logins"), r
    # Another account is not affected.
    r = pop3_login("carol@example.test", PW, src="127.0.0.22")
    assert r.startswith("+OK"), r


def test_spellings_count_as_one_account_smtp():
    for i, u in enumerate(["dave@example.test.", "  dave@example.test", "Dave@Example.Test"]):
        code, _ = smtp_auth_plain(u, "wrong", src=f"127.0.0.{30 + i}")
        assert code == 535, (u, code)
    code, msg = smtp_auth_plain("dave@example.test", PW, src="127.0.0.40")
    assert (code, msg[:5]) == (454, b"4.7.0"), (code, msg)


def scram_server_first(user, src="127.0.0.1"):
    """Sends a SCRAM client-first for `user` over POP3; returns the server-first."""
    p = Pop3(src)
    try:
        first = base64.b64encode(f"n,,n={user},r=clientnonce123".encode()).decode()
        r = p.cmd("AUTH SCRAM-SHA-256 " + first)
        assert r.startswith("+ "), (user, r)
        sf = base64.b64decode(r[2:].strip()).decode()
        r = p.cmd("*")
        assert r.startswith("-ERR"), r
        return sf
    finally:
        p.close()


def parse_sf(sf):
    parts = dict(kv.split("=", 1) for kv in sf.split(","))
    assert set(parts) == {"r", "s", "i"}, sf
    return parts


def test_scram_unknown_login_looks_real():
    # Before: an unknown login was refused at once, a real one got a server-first.
    real = parse_sf(scram_server_first("erin@example.test", src="127.0.0.50"))
    fake = parse_sf(scram_server_first("nobody@example.test", src="127.0.0.51"))
    assert len(base64.b64decode(real["s"])) == len(base64.b64decode(fake["s"])) == 16
    assert real["i"] == fake["i"] == "4096"
    assert len(real["r"]) == len(fake["r"])
    # Stable per login, whatever the spelling, as a real salt is.
    again = parse_sf(scram_server_first("Nobody@Example.test.", src="127.0.0.52"))
    assert again["s"] == fake["s"]
    assert parse_sf(scram_server_first("other@example.test", src="127.0.0.53"))["s"] != fake["s"]
    test_scram_unknown_login_looks_real.fake_salt = fake["s"]


def fail_time(user, src):
    t0 = time.monotonic()
    r = pop3_login(user, "not the password", src=src)
    dt = time.monotonic() - t0
    assert r.startswith("-ERR [AUTH]"), (user, r)
    return dt


def test_failed_login_times_alike():
    classes = {
        "unknown": "ghost@example.test",
        "disabled": "off@example.test",
        "sha512": "six@example.test",
        "bcrypt": "blow@example.test",
        "yescrypt": "yes@example.test",
    }
    times = {k: [] for k in classes}
    for rnd in range(9):
        for i, (k, u) in enumerate(classes.items()):
            times[k].append(fail_time(u, src=f"127.0.1.{rnd * 10 + i + 1}"))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("failed-login medians (ms): " +
          ", ".join(f"{k}={v * 1000:.1f}" for k, v in med.items()), flush=True)
    lo, hi = min(med.values()), max(med.values())
    assert hi <= lo * 1.2, med


def test_fake_salt_survives_restart():
    # The fake salt comes from a per-install secret kept in the store.
    before = test_scram_unknown_login_looks_real.fake_salt
    for p in list(env.procs):
        env.stop(p)
    env.procs = []
    env.start("tern-pop3d")
    env.start("tern-mta")
    after = parse_sf(scram_server_first("nobody@example.test", src="127.0.0.60"))["s"]
    assert after == before, (before, after)


def make_env(extra):
    e = TernEnv(listeners=["submissions", "pop3"], limits="auth_failures = 100000",
                sections={"pop3": "allow_plaintext_auth = true"},
                extra_config='[auth]\nfailure_delay = "0s"\n' + extra)
    e.ctl("domain", "add", "example.test")
    for u in ("bob", "carol", "dave", "erin", "off", "yes"):
        e.ctl("user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
    e.ctl("user", "disable", "off@example.test")
    e.ctl("user", "add", "six@example.test", "--password-hash",
          crypt.crypt(PW, crypt.mksalt(crypt.METHOD_SHA512)))
    e.ctl("user", "add", "blow@example.test", "--password-hash",
          crypt.crypt(PW, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 8)))
    e.start("tern-pop3d")
    e.start("tern-mta")
    return e


def main():
    global env
    failed = False
    # The throttle (account_failures = 3), then the rest without a per-account limit.
    for extra, tests in (
            ("account_failures = 3\n", [test_spellings_count_as_one_account_and_refuse_pop3,
                                        test_spellings_count_as_one_account_smtp]),
            ("account_failures = 100000\n", [test_scram_unknown_login_looks_real,
                                             test_failed_login_times_alike,
                                             test_fake_salt_survives_restart])):
        with make_env(extra) as e:
            env = e
            try:
                run_tests(tests)
            except SystemExit as x:
                failed = failed or x.code != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
