"""Smarthost mode ([relay]) against a real provider set-up on loopback: a private
Postfix whose submission listeners require AUTH (smtpd_sasl_type = dovecot, a private
Dovecot with a passwd-file) and present a certificate from a test CA that tern trusts
only through [outbound] ca_file. Certificate verification is always on in this mode.

Listeners: STARTTLS (PLAIN and LOGIN offered), implicit TLS (smtpd_tls_wrappermode),
and STARTTLS offering only LOGIN. Checked: delivery over each (Postfix's log names the
SASL method and user), the provider's 5xx refusals (unknown recipient; a "quota"
refusal of the sender) bounce to the sender with the provider's text, a wrong password
logs one clear line and bounces, a 4xx from the provider defers,
and a certificate tern does not trust defers without sending anything.
"""
import os
import re
import shutil
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, free_port, run_tests  # noqa: E402
from outboundlib import (PostfixPeer, SaslDovecot, TestDns, make_ca, make_cert,  # noqa: E402
                         wait_for)

PW = "secret-pw-1"
RELAY_USER = "tern-user@provider.test"
RELAY_PW = "relay-pass-1"
ZONES = {"provider.test": "smtp IN A 127.0.0.1\n"}


def provider_options(sasl_extra=None, wrapper=False):
    o = {
        "syslog_name": "postfix/submission",
        "smtpd_tls_security_level": "encrypt",
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_tls_auth_only": "yes",
        "smtpd_sasl_authenticated_header": "yes",
        "smtpd_relay_restrictions": "permit_sasl_authenticated,reject",
        "smtpd_recipient_restrictions": "reject_unlisted_recipient,permit_sasl_authenticated,reject",
    }
    if wrapper:
        o["smtpd_tls_wrappermode"] = "yes"
        o["syslog_name"] = "postfix/submissions"
    o.update(sasl_extra or {})
    return o


def make_env(tmp, dns, relay_port, password=RELAY_PW, tls="starttls", ca=True):
    pwfile = os.path.join(tmp, f"relay-{free_port()}.pw")
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    os.chmod(pwfile, 0o600)
    env = TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
retry_min = "1s"
retry_max = "2s"
{f'ca_file = "{ca}"' if ca else ''}
[relay]
host = "smtp.provider.test:{relay_port}"
username = "{RELAY_USER}"
password_file = "{pwfile}"
tls = "{tls}"
""")
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
    env.ctl("user", "add", "q@example.test", "--password-stdin", input=PW + "\n")
    return env


def submit(env, rcpt, subject, sender="a@example.test"):
    msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\nvia the smarthost\r\n")
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login(sender, PW)
        s.sendmail(sender, [rcpt], msg.encode())


def at_peer(pf, subject):
    return [m for m in pf.maildir_messages("x@remote.test") if f"Subject: {subject}".encode() in m]


def bounces(env, who="a@example.test"):
    return [m for m in env.mailbox(who).values() if b"Undelivered Mail Returned to Sender" in m]


def test_smarthost_with_postfix_and_dovecot_sasl():
    tmp = tempfile.mkdtemp(prefix="tern-relay-")
    try:
        ca = make_ca(tmp)
        cert = make_cert(tmp, "smtp.provider.test", ca=ca)
        senders = os.path.join(tmp, "senders")
        with open(senders, "w") as f:
            f.write("q@example.test 554 5.7.0 Daily sending quota exceeded\n"
                    "l@example.test 451 4.7.1 Try again later\n")
        os.chmod(tmp, 0o755)
        os.chmod(senders, 0o644)
        sub, subs, login_only = free_port(), free_port(), free_port()
        with SaslDovecot({RELAY_USER: RELAY_PW}) as sasl, TestDns(ZONES) as dns, PostfixPeer(
                users=["x@remote.test"], hostname="smtp.provider.test", cert=cert,
                extra_main=(f"smtpd_sasl_type = dovecot\nsmtpd_sasl_path = {sasl.socket}\n"
                            f"smtpd_sender_restrictions = check_sender_access texthash:{senders}\n"),
                submission=[{"port": sub, "options": provider_options()},
                            {"port": subs, "options": provider_options(wrapper=True)},
                            {"port": login_only, "options": provider_options(
                                {"smtpd_sasl_mechanism_filter": "login"})}]) as pf:
            # The provider really requires AUTH.
            with smtplib.SMTP("127.0.0.1", sub, timeout=20) as s:
                s.starttls(context=client_tls_context())
                s.ehlo("probe")
                assert "PLAIN" in s.esmtp_features.get("auth", "").upper(), s.esmtp_features
                s.mail("someone@example.test")
                code, _ = s.rcpt("x@remote.test")
                assert code == 554, code

            # 1. STARTTLS + AUTH PLAIN: delivered; refusals bounce with the provider's text.
            with make_env(tmp, dns, sub, ca=ca[0]) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay starttls")
                got = wait_for(lambda: at_peer(pf, "relay starttls"), timeout=30, what="relayed message")[0]
                assert re.search(rb"with ESMTPSA", got), got[:800]
                assert f"(Authenticated sender: {RELAY_USER})".encode() in got, got[:800]
                assert re.search(r"sasl_method=PLAIN, sasl_username=" + re.escape(RELAY_USER), pf.log())
                submit(env, "nosuch@remote.test", "relay unknown rcpt")
                b = wait_for(lambda: bounces(env), timeout=30, what="bounce for the unknown recipient")[0]
                assert b"Final-Recipient: rfc822; nosuch@remote.test" in b and b"Status: 5.1.1" in b, b
                submit(env, "x@remote.test", "relay quota", sender="q@example.test")
                b = wait_for(lambda: bounces(env, "q@example.test"), timeout=30, what="quota bounce")[0]
                assert b"Daily sending quota exceeded" in b and b"Status: 5.7.0" in b, b
                assert not at_peer(pf, "relay quota")

            # 2. Implicit TLS (the :465 way), AUTH PLAIN.
            with make_env(tmp, dns, subs, tls="implicit", ca=ca[0]) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay implicit")
                got = wait_for(lambda: at_peer(pf, "relay implicit"), timeout=30, what="implicit TLS relay")[0]
                assert re.search(rb"\(using TLSv1\.[23]", got), got[:800]
                assert "postfix/submissions/smtpd" in pf.log()

            # 3. Only LOGIN offered: AUTH LOGIN.
            with make_env(tmp, dns, login_only, ca=ca[0]) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay login")
                wait_for(lambda: at_peer(pf, "relay login"), timeout=30, what="AUTH LOGIN relay")
                assert re.search(r"sasl_method=LOGIN, sasl_username=" + re.escape(RELAY_USER), pf.log())

            # 4. Wrong password: one clear log line, a bounce naming the refusal.
            with make_env(tmp, dns, sub, password="wrong-password", ca=ca[0]) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay wrong password")
                b = wait_for(lambda: bounces(env), timeout=30, what="bounce after a refused login")[0]
                assert b"the relay refused authentication: 535 5.7.8" in b, b
                log = env.log("tern-mta")
                line = [l for l in log.splitlines() if "refused the session" in l]
                assert line and RELAY_USER in line[0] and "535 5.7.8" in line[0], log[-2000:]
                print("wrong password log line:", line[0])
                assert not at_peer(pf, "relay wrong password")

            # 5. A certificate tern does not trust (no ca_file): deferred, nothing sent.
            with make_env(tmp, dns, sub, ca=None) as env:
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay untrusted")
                wait_for(lambda: "status=deferred" in env.log("tern-mta"), timeout=30, what="deferral")
                assert "certificate verification failed" in env.log("tern-mta")
                assert not at_peer(pf, "relay untrusted")
                assert not bounces(env)

            # 6. A 4xx from the provider (here its sender policy: 451 4.7.1): deferred,
            #    no bounce. (A 4xx to AUTH takes the same path: smtp_client unit test.)
            with make_env(tmp, dns, sub, ca=ca[0]) as env:
                env.ctl("user", "add", "l@example.test", "--password-stdin", input=PW + "\n")
                env.start("tern-mta")
                submit(env, "x@remote.test", "relay later", sender="l@example.test")
                wait_for(lambda: env.log("tern-mta").count("status=deferred") >= 2, timeout=30,
                         what="deferrals on 451")
                assert re.search(r"status=deferred \(451 4\.7\.1 .*Try again later", env.log("tern-mta")), \
                    env.log("tern-mta")[-2000:]
                assert not bounces(env, "l@example.test")
                assert not at_peer(pf, "relay later")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_smarthost_with_postfix_and_dovecot_sasl])
