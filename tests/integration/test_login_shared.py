"""One failed-login count for every daemon of a tern (issue 18 "Logins", issue 16 "the
login form uses the same throttle as the mail daemons"): tern hands each daemon the
same failed-login table, so failures spread over SMTP AUTH (STARTTLS), POP3, IMAP and
the web login form reach one account limit together, and the right password is then
refused on the protocol not yet tried. tern-web's /metrics counts the failures of every
daemon per service. A daemon killed with -9 wedges nobody: the others keep logging in,
and the restarted daemon still sees the counts.

Real clients: smtplib, poplib, imaplib, http.client; all through the supervisor `tern`.
"""
import http.client
import imaplib
import os
import poplib
import re
import signal
import smtplib
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests, wait_until  # noqa: E402

PW = "right password 1"
LISTENERS = ["submission", "pop3s", "imaps", "web"]


def make_env():
    # account_failures = 3 per minute; the per-IP limit is out of the way (every client
    # is 127.0.0.1) and the delay is 0 so the test is quick.
    e = TernEnv(listeners=LISTENERS, limits="auth_failures = 100000",
                extra_config='[auth]\naccount_failures = 3\nfailure_delay = "0s"\n')
    e.ctl("domain", "add", "example.test")
    for u in ("alice", "bob", "carol"):
        e.ctl("user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
    e.start("tern")
    return e


def quietly(close):
    """Ends a client session, ignoring a server that already hung up."""
    try:
        close()
    except (OSError, smtplib.SMTPException, poplib.error_proto, imaplib.IMAP4.error):
        pass


def smtp_login(env, user, pw):
    """(code, text) of one AUTH PLAIN on submission after STARTTLS."""
    s = smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=30)
    try:
        s.starttls(context=client_tls_context())
        s.ehlo("client.example.test")
        # One AUTH PLAIN (s.login would try the next mechanism after a 535).
        s.user, s.password = user, pw
        try:
            code, text = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            code, text = e.smtp_code, e.smtp_error
        return code, text.decode(errors="replace") if isinstance(text, bytes) else text
    finally:
        quietly(s.quit)


def pop3_login(env, user, pw):
    """The reply to PASS (text), over POP3S."""
    p = poplib.POP3_SSL("127.0.0.1", env.port("pop3s"), timeout=30, context=client_tls_context())
    try:
        p.user(user)
        try:
            return p.pass_(pw).decode()
        except poplib.error_proto as e:
            return e.args[0].decode()
    finally:
        quietly(p.quit)


def imap_login(env, user, pw):
    """("OK"|"NO", text) of LOGIN over IMAPS."""
    m = imaplib.IMAP4_SSL("127.0.0.1", env.port("imaps"), ssl_context=client_tls_context(), timeout=30)
    try:
        try:
            typ, data = m.login(user, pw)
            return typ, data[0].decode()
        except imaplib.IMAP4.error as e:
            return "NO", str(e)
    finally:
        quietly(m.logout)


def web_login(env, user, pw):
    """POST /login: 303 logged in, 429 throttled, "wrong" (the form again, 200, with its
    error line)."""
    c = http.client.HTTPConnection("127.0.0.1", env.port("web"), timeout=30)
    try:
        c.request("POST", "/login", body=urllib.parse.urlencode({"login": user, "password": pw}),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        body = r.read().decode()
        if r.status == 200 and "Wrong login or password." in body:
            return "wrong"
        return r.status
    finally:
        c.close()


def metrics(env):
    c = http.client.HTTPConnection("127.0.0.1", env.port("web"), timeout=30)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200
        text = r.read().decode()
    finally:
        c.close()
    out = {}
    for name, service, value in re.findall(r'^(tern_auth_(?:failures|refused)_total)\{service="(\w+)"\} (\d+)$',
                                           text, re.M):
        out[(name, service)] = int(value)
    shared = re.search(r"^tern_auth_throttle_shared (\S+)$", text, re.M)
    return out, shared and shared.group(1)


def test_failures_over_four_protocols_share_one_limit():
    # Each works with the right password (and resets nothing for alice).
    assert smtp_login(env, "bob@example.test", PW)[0] == 235
    assert pop3_login(env, "bob@example.test", PW).startswith("+OK")
    assert imap_login(env, "bob@example.test", PW)[0] == "OK"
    assert web_login(env, "bob@example.test", PW) == 303

    # One wrong password each on web, SMTP and POP3: three failures, the limit.
    assert web_login(env, "alice@example.test", "wrong 1") == "wrong"
    code, text = smtp_login(env, "alice@example.test", "wrong 2")
    assert code == 535, (code, text)
    assert pop3_login(env, "alice@example.test", "wrong 3").startswith("-ERR")
    # The fourth protocol refuses the right password (each daemon alone would have
    # seen one failure and let it in).
    typ, text = imap_login(env, "alice@example.test", PW)
    assert typ == "NO" and "UNAVAILABLE" in text, (typ, text)
    code, text = smtp_login(env, "alice@example.test", PW)
    assert code == 454 and "4.7.0" in text, (code, text)
    text = pop3_login(env, "alice@example.test", PW)
    assert text.startswith("-ERR [SYS/TEMP]"), text
    assert web_login(env, "alice@example.test", PW) == 429
    # Other accounts are not affected.
    assert imap_login(env, "bob@example.test", PW)[0] == "OK"

    # /metrics: every daemon's failures, per service.
    m, shared = metrics(env)
    assert shared == "1", shared
    for service in ("web", "smtp", "pop3"):
        assert m[("tern_auth_failures_total", service)] == 1, (service, m)
    assert m[("tern_auth_failures_total", "imap")] == 0, m
    for service in ("imap", "smtp", "pop3", "web"):
        assert m[("tern_auth_refused_total", service)] >= 1, (service, m)
    log = env.log("tern")
    assert "one failed-login table for all daemons" in log, log
    for d in ("tern-mta", "tern-pop3d", "tern-imapd", "tern-web"):
        assert re.search(re.escape(d) + r"\[\d+\] info: auth: failed logins counted in tern's table", log), (d, log)


def test_kill_9_of_one_daemon_wedges_no_other():
    run = os.path.join(env.data_dir, "run")
    pid = int(open(os.path.join(run, "tern-pop3d.pid")).read())
    # Failures for carol while tern-pop3d is killed in the middle of them.
    assert pop3_login(env, "carol@example.test", "wrong a").startswith("-ERR")
    os.kill(pid, signal.SIGKILL)
    t0 = time.time()
    # The other daemons log in at once, and count failures in the same table.
    assert smtp_login(env, "bob@example.test", PW)[0] == 235
    assert imap_login(env, "bob@example.test", PW)[0] == "OK"
    assert web_login(env, "bob@example.test", PW) == 303
    assert smtp_login(env, "carol@example.test", "wrong b")[0] == 535
    assert time.time() - t0 < 15, time.time() - t0

    def restarted():
        try:
            new = int(open(os.path.join(run, "tern-pop3d.pid")).read())
            return new != pid and pop3_login(env, "bob@example.test", PW).startswith("+OK")
        except (OSError, ValueError, poplib.error_proto):
            return False
    wait_until(restarted, 30, "tern-pop3d restarted by tern")
    # The restarted daemon maps the same table: carol's two failures still count.
    assert imap_login(env, "carol@example.test", "wrong c")[0] == "NO"
    assert pop3_login(env, "carol@example.test", PW).startswith("-ERR [SYS/TEMP]")


if __name__ == "__main__":
    with make_env() as e:
        env = e
        run_tests([test_failures_over_four_protocols_share_one_limit, test_kill_9_of_one_daemon_wedges_no_other])
