"""tern-mta MX listener options: [smtp] auth = true (AUTH after STARTTLS on port 25,
relaying once authenticated) and [smtp] trusted_networks (relay without AUTH)."""
import os
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests, client_tls_context  # noqa: E402

PW = "mx-pw-12345"


def queue(env):
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                          capture_output=True, timeout=30).stdout


def prepare(env):
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "alice@example.test", "--password-stdin", input=PW + "\n")
    env.start("tern-mta")


def test_mx_auth_enabled():
    with TernEnv(listeners=["smtp"], sections={"smtp": "auth = true"}) as env:
        prepare(env)
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=10) as s:
            s.ehlo()
            assert "auth" not in s.esmtp_features  # not before TLS
            c, m = s.docmd("AUTH", "PLAIN AGFAYgBj")
            assert (c, m[:6]) == (538, b"5.7.11"), (c, m)
            s.mail("x@remote.example")
            assert s.rcpt("y@remote.test")[0] == 554  # not authenticated: no relay
            s.rset()
            s.starttls(context=client_tls_context())
            s.ehlo()
            assert "PLAIN" in s.esmtp_features["auth"]
            s.login("alice@example.test", PW)
            s.mail("alice@example.test")
            assert s.rcpt("y@remote.test")[0] == 250  # relay after AUTH
            assert s.data(b"Subject: r\r\n\r\nrelayed\r\n")[0] == 250
        assert b"from=<alice@example.test> to=<y@remote.test>" in queue(env)


def test_trusted_network_relays_without_auth():
    with TernEnv(listeners=["smtp"], sections={"smtp": 'trusted_networks = ["127.0.0.0/8"]'}) as env:
        prepare(env)
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=10) as s:
            s.sendmail("app@example.test", ["z@remote.test"], b"Subject: t\r\n\r\ntrusted\r\n")
        assert b"to=<z@remote.test>" in queue(env)


def test_untrusted_network_refused():
    with TernEnv(listeners=["smtp"], sections={"smtp": 'trusted_networks = ["10.0.0.0/8"]'}) as env:
        prepare(env)
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=10) as s:
            s.ehlo()
            s.mail("app@example.test")
            assert s.rcpt("z@remote.test")[0] == 554
        assert b"to=<z@remote.test>" not in queue(env)


if __name__ == "__main__":
    run_tests([test_mx_auth_enabled, test_trusted_network_relays_without_auth, test_untrusted_network_refused])
