"""Client-side TLS and address families of outbound delivery, with real peers on loopback.

- STARTTLS response injection (CVE-2011-0411, client side): a scripted peer answers
  STARTTLS with "220 ready\\r\\n250 injected\\r\\n" in one write. tern must drop the
  pipelined "250 injected" before the handshake; had it kept it, that line would be
  taken as the reply to the EHLO sent over TLS and every later reply would be matched
  to the wrong command (the DATA's 354 read as a RCPT reply, the body never sent).
- [outbound] tls = "verify": a Postfix without STARTTLS, one with a self-signed
  certificate and one with a CA-signed certificate for another name all get nothing
  (the message stays queued, deferred; Postfix never sees a MAIL command); a
  certificate from the CA in [outbound] ca_file for the MX name gets the message.
- IPv6: an MX whose only address is AAAA ::1 (Postfix on [::1]) gets the message; a
  host with AAAA ::1 and A 127.0.0.1 and a Postfix on 127.0.0.1 only is tried over
  IPv6 first, then IPv4.
- Address literals: x@[127.0.0.1] and y@[IPv6:::1] go to those addresses, no DNS.
"""
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, free_port, run_tests  # noqa: E402
from outboundlib import (PostfixPeer, PySmtpPeer, TestDns, make_ca, make_cert,  # noqa: E402
                         wait_for)

PW = "secret-pw-1"


def make_env(dns, port, extra=""):
    env = TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {port}
retry_min = "1s"
retry_max = "2s"
{extra}
""")
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
    return env


def submit(env, rcpt, subject, body="Hello over TLS.\r\n"):
    msg = (f"From: a@example.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("a@example.test", PW)
        s.sendmail("a@example.test", [rcpt], msg.encode())
    return msg.encode()


def queue(env):
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                          capture_output=True, timeout=30).stdout.decode()


def queue_len(env):
    return len([line for line in queue(env).splitlines() if line.startswith("=== id=")])


def test_starttls_response_injection_is_discarded():
    tmp = tempfile.mkdtemp(prefix="tern-inject-")
    try:
        cert = make_cert(tmp, "mx.inject.test")
        zones = {"inject.test": "@ IN MX 10 mx.inject.test.\nmx IN A 127.0.0.1\n"}
        with TestDns(zones) as dns, \
                PySmtpPeer(tls=cert, inject=b"250 injected\r\n", name="mx.inject.test") as peer, \
                make_env(dns, peer.port) as env:
            env.start("tern-mta")
            body = "first line\r\n.dot line\r\nlast line\r\n"
            submit(env, "x@inject.test", "injected", body=body)
            wait_for(lambda: peer.messages, timeout=30, what="delivery to the scripted peer")
            wait_for(lambda: queue_len(env) == 0, timeout=30, what="empty queue")
            time.sleep(1)
            assert len(peer.messages) == 1, peer.messages
            m = peer.messages[0]
            assert m["tls"] in ("TLSv1.2", "TLSv1.3"), m
            assert m["mail"] == "a@example.test" and m["rcpts"] == ["x@inject.test"], m
            assert m["data"].endswith(body.encode()), m["data"]
            assert b"Subject: injected" in m["data"]
            cmds = [c.split(" ")[0].upper() for n, c in peer.commands if n == m["conn"]]
            assert cmds == ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"], peer.commands
            assert not peer.violations, peer.violations
            log = env.log("tern-mta")
            assert "discarded data the server sent before the TLS handshake" in log, log[-2000:]
            assert "status=sent" in log
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_tls_verify_defers_unless_the_certificate_is_valid_for_the_mx():
    tmp = tempfile.mkdtemp(prefix="tern-verify-")
    zones = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n"}
    try:
        ca = make_ca(tmp)
        good = make_cert(tmp, "mx.remote.test", ca=ca)
        wrong = make_cert(tmp, "other.remote.test", ca=ca)
        extra = f'tls = "verify"\nca_file = "{ca[0]}"'
        cases = [  # (name, PostfixPeer kwargs, expected tern log text)
            ("no STARTTLS", {"tls": False}, "TLS is required but the server does not offer STARTTLS"),
            ("self-signed", {}, "certificate verification failed"),
            ("wrong name", {"cert": wrong}, "certificate verification failed"),
        ]
        with TestDns(zones) as dns:
            for name, kw, text in cases:
                with PostfixPeer(users=["x@remote.test"], **kw) as pf, make_env(dns, pf.port, extra) as env:
                    env.start("tern-mta")
                    submit(env, "x@remote.test", f"verify {name}")
                    wait_for(lambda: env.log("tern-mta").count("status=deferred") >= 2, timeout=30,
                             what=f"two deferrals ({name})")
                    log = env.log("tern-mta")
                    assert text in log, (name, log[-3000:])
                    assert queue_len(env) == 1, (name, queue(env))
                    listing = env.ctl("queue", "list").stdout
                    assert "4.7." in listing, (name, listing)
                    assert not pf.maildir_messages("x@remote.test"), name
                    # Postfix saw no MAIL command (nothing sent in clear, nothing over a
                    # TLS session tern did not trust).
                    disconnects = re.findall(r"disconnect from .*", pf.log())
                    assert disconnects, (name, pf.log()[-2000:])
                    assert not any("mail=" in d for d in disconnects), (name, disconnects)
                    print(f"{name}: deferred, {len(disconnects)} connections, no MAIL")
            # The CA's certificate for the MX name: delivered over TLS.
            with PostfixPeer(users=["x@remote.test"], cert=good) as pf, make_env(dns, pf.port, extra) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "verify good")
                got = wait_for(lambda: pf.maildir_messages("x@remote.test"), timeout=30, what="verified delivery")
                assert re.search(rb"\(using TLSv1\.[23]", got[0]), got[0][:800]
                wait_for(lambda: queue_len(env) == 0, timeout=30, what="empty queue")
                assert "status=deferred" not in env.log("tern-mta")
            # Without ca_file the same certificate is not trusted.
            with PostfixPeer(users=["x@remote.test"], cert=good) as pf, \
                    make_env(dns, pf.port, 'tls = "verify"') as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "verify no ca")
                wait_for(lambda: "status=deferred" in env.log("tern-mta"), timeout=30, what="deferral without CA")
                assert "certificate verification failed" in env.log("tern-mta")
                assert not pf.maildir_messages("x@remote.test")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_ipv6_only_mx_and_aaaa_then_a_fallback():
    zones = {
        "v6.test": "@ IN MX 10 mx6.v6.test.\nmx6 IN AAAA ::1\n",
        "dual.test": "@ IN MX 10 mx.dual.test.\nmx IN AAAA ::1\nmx IN A 127.0.0.1\n",
    }
    with TestDns(zones) as dns:
        # AAAA only, Postfix on [::1].
        port = free_port()
        with PostfixPeer(domain="v6.test", users=["x@v6.test"], address="::1", port=port) as pf, \
                make_env(dns, pf.port) as env:
            env.start("tern-mta")
            submit(env, "x@v6.test", "over ipv6")
            got = wait_for(lambda: pf.maildir_messages("x@v6.test"), timeout=30, what="IPv6 delivery")
            assert b"Subject: over ipv6" in got[0]
            assert re.search(rb"Received: from \S+ \(\S* ?\[(IPv6:)?::1\]\)", got[0]), got[0][:600]
            log = env.log("tern-mta")
            assert f"relay=mx6.v6.test[[::1]:{pf.port}]" in log and "status=sent" in log, log[-2000:]
        # AAAA ::1 and A 127.0.0.1, Postfix on 127.0.0.1 only: [::1] first (refused), then IPv4.
        with PostfixPeer(domain="dual.test", users=["x@dual.test"]) as pf, make_env(dns, pf.port) as env:
            env.start("tern-mta")
            submit(env, "x@dual.test", "dual stack")
            wait_for(lambda: pf.maildir_messages("x@dual.test"), timeout=30, what="IPv4 fallback delivery")
            log = env.log("tern-mta")
            v6 = log.find(f"mx.dual.test [::1]:{pf.port}:")
            sent = log.find(f"relay=mx.dual.test[127.0.0.1:{pf.port}]")
            assert v6 != -1 and sent != -1 and v6 < sent, log[-2000:]
            assert "status=sent" in log[sent:sent + 300]
            assert "status=deferred" not in log  # the fallback is within one attempt


def peer_pair():
    """Scripted peers on 127.0.0.1 and [::1] with the same port number ([outbound] port)."""
    for _ in range(20):
        p6 = PySmtpPeer(host="::1")
        try:
            return PySmtpPeer(host="127.0.0.1", port=p6.port), p6
        except OSError:
            p6.close()
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def test_address_literals_go_to_that_address():
    peer4, peer6 = peer_pair()
    with TestDns({"unused.test": ""}) as dns, peer4, peer6, make_env(dns, peer4.port) as env:
        env.start("tern-mta")
        submit(env, "x@[127.0.0.1]", "literal v4")
        submit(env, "y@[IPv6:::1]", "literal v6")
        wait_for(lambda: peer4.messages and peer6.messages, timeout=30, what="literal deliveries")
        assert peer4.messages[0]["rcpts"] == ["x@[127.0.0.1]"], peer4.messages
        assert peer6.messages[0]["rcpts"] == ["y@[IPv6:::1]"], peer6.messages
        wait_for(lambda: queue_len(env) == 0, timeout=30, what="empty queue")


if __name__ == "__main__":
    run_tests([test_starttls_response_injection_is_discarded,
               test_tls_verify_defers_unless_the_certificate_is_valid_for_the_mx,
               test_ipv6_only_mx_and_aaaa_then_a_fallback,
               test_address_literals_go_to_that_address])
