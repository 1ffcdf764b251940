"""Outbound delivery with real peers on loopback: a private unbound serves MX/A for
remote.test, whose MX is a private Postfix (STARTTLS offered, virtual users x and y;
other users get 550). tern-mta sends its queue there ([outbound] port, [dns] servers).
"""
import os
import re
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402
from outboundlib import PostfixPeer, TestDns, wait_for  # noqa: E402

PW = "secret-pw-1"


def zones():
    return {
        "remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n",
        # SPF of the forwarding domain (tern's own): the address tern connects from.
        "example.test": '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"\n',
        "nullmx.test": "@ IN MX 0 .\n",
    }


def make_env(dns, pf, extra=""):
    env = TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {pf.port}
retry_min = "1s"
retry_max = "2s"
{extra}
""")
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
    return env


def submit(env, rcpts, subject, body="Hello from tern.\r\n", sender="a@example.test"):
    msg = (f"From: A <{sender}>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("a@example.test", PW)
        s.sendmail(sender, rcpts, msg.encode())
    return msg.encode()


def queue_ids(env):
    out = subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                         capture_output=True, timeout=30).stdout.decode()
    return [l for l in out.splitlines() if l.startswith("=== id=")]


def with_subject(msgs, subject):
    return [m for m in msgs if f"Subject: {subject}".encode() in m]


def test_submission_delivered_intact_then_bounce_and_retry():
    with TestDns(zones()) as dns, PostfixPeer(users=["x@remote.test", "y@remote.test"]) as pf, \
            make_env(dns, pf) as env:
        env.start("tern-mta")
        # 1. Delivered to Postfix, body intact, over STARTTLS.
        sent = submit(env, ["x@remote.test", "y@remote.test"], "first message",
                      body="line one\r\n.leading dot\r\n\r\nlast line\r\n")
        got = wait_for(lambda: with_subject(pf.maildir_messages("x@remote.test"), "first message"),
                       what="delivery to x")
        assert len(got) == 1
        body = got[0].replace(b"\n", b"\r\n") if b"\r\n" not in got[0] else got[0]
        assert sent.split(b"\r\n\r\n", 1)[1] in body, body
        assert b"Return-Path: <a@example.test>" in got[0]
        assert re.search(rb"\(using TLSv1\.[23]", got[0]), got[0][:800]
        assert len(with_subject(pf.maildir_messages("y@remote.test"), "first message")) == 1
        wait_for(lambda: not queue_ids(env), what="empty queue")

        # 2. 550 from Postfix: a bounce in the sender's INBOX naming recipient and reason.
        submit(env, ["nosuch@remote.test"], "to nobody")
        def bounce():
            return [m for m in env.mailbox("a@example.test").values()
                    if b"Undelivered Mail Returned to Sender" in m]
        b = wait_for(bounce, what="bounce in INBOX")[0]
        assert b"multipart/report; report-type=delivery-status" in b
        assert b"Final-Recipient: rfc822; nosuch@remote.test" in b
        assert b"Action: failed" in b
        assert b"Status: 5.1.1" in b
        assert b"User unknown" in b or b"Recipient address rejected" in b, b
        assert b"Return-Path: <>" in b
        assert b"Subject: to nobody" in b  # the original is returned
        wait_for(lambda: not queue_ids(env), what="empty queue after bounce")

        # 3. Peer stopped: stays queued; started again: delivered exactly once.
        pf.stop()
        submit(env, ["x@remote.test"], "while down")
        time.sleep(4)  # several retries (retry_min 1s) fail meanwhile
        q = queue_ids(env)
        assert len(q) == 1, q
        pf.start()
        wait_for(lambda: with_subject(pf.maildir_messages("x@remote.test"), "while down"),
                 what="delivery after restart")
        wait_for(lambda: not queue_ids(env), what="empty queue after restart")
        time.sleep(2)
        assert len(with_subject(pf.maildir_messages("x@remote.test"), "while down")) == 1
        # No bounce for it, one for "to nobody" only.
        assert len(bounce()) == 1
        log = env.log("tern-mta")
        assert "status=deferred" in log and "status=sent" in log, log[-3000:]


def test_no_bounce_to_the_null_sender_and_null_mx():
    with TestDns(zones()) as dns, PostfixPeer(users=["x@remote.test"]) as pf, \
            make_env(dns, pf) as env:
        env.ctl("autoreply", "set", "a@example.test", "--subject", "Away",
                "--body-file", "/dev/stdin", input="I am away.\n")
        env.start("tern-mta")
        # A remote stranger writes to a: the auto-reply (from <>) goes to
        # stranger@remote.test, which Postfix refuses with 550: no bounce may follow.
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.sendmail("stranger@remote.test", ["a@example.test"],
                       b"From: stranger@remote.test\r\nTo: a@example.test\r\nSubject: hi\r\n\r\nhi\r\n")
        wait_for(lambda: "status=bounced" in env.log("tern-mta"), what="auto-reply refused")
        time.sleep(2)
        assert not queue_ids(env), queue_ids(env)
        inbox = env.mailbox("a@example.test")
        assert len(inbox) == 1  # only the stranger's message, no DSN anywhere
        assert "Undelivered" not in "".join(m.decode(errors="replace") for m in inbox.values())
        # Null MX: bounced at once with 5.1.10, without any connection.
        submit(env, ["u@nullmx.test"], "to null mx")
        def bounce():
            return [m for m in env.mailbox("a@example.test").values() if b"Status: 5.1.10" in m]
        b = wait_for(bounce, what="null MX bounce")[0]
        assert b"null MX" in b


def test_forwarder_uses_srs_and_spf_passes():
    with TestDns(zones()) as dns, PostfixPeer(users=["y@remote.test"]) as pf, \
            make_env(dns, pf) as env:
        env.ctl("alias", "add", "fwd@example.test", "y@remote.test")
        env.start("tern-mta")
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.sendmail("someone@elsewhere.test", ["fwd@example.test"],
                       b"From: someone@elsewhere.test\r\nTo: fwd@example.test\r\nSubject: fwd me\r\n\r\nbody\r\n")
        got = wait_for(lambda: with_subject(pf.maildir_messages("y@remote.test"), "fwd me"),
                       what="forwarded message")[0]
        m = re.search(rb"Return-Path: <([^>]*)>", got)
        assert m, got[:500]
        rp = m.group(1).decode()
        assert re.fullmatch(r"SRS0=[A-Z2-7]{6}=[A-Z2-7]{2}=elsewhere\.test=someone@example\.test", rp), rp
        # SPF as a verifier does it: the MAIL FROM domain's record against the address
        # Postfix saw the connection from.
        client_ip = re.search(rb"Received: from \S+ \((?:\S+ )?\[([0-9.]+)\]\)", got).group(1).decode()
        spf = [t for t in dns.txt("example.test") if t.startswith("v=spf1")]
        assert spf == ["v=spf1 ip4:127.0.0.1 -all"]
        allowed = [t[4:] for t in spf[0].split() if t.startswith("ip4:")]
        assert client_ip in allowed, (client_ip, spf)
        # A bounce to the SRS address is decoded and goes to the original sender
        # (remote here: queued to someone@elsewhere.test); a forged one is refused.
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.ehlo()
            code, _ = s.docmd("MAIL FROM:<>")
            assert code == 250
            code, text = s.docmd(f"RCPT TO:<{rp}>")
            assert code == 250, text
            forged = "SRS0=AAAAAA=AA=elsewhere.test=victim@example.test"
            code, text = s.docmd(f"RCPT TO:<{forged}>")
            assert code == 550, (code, text)


if __name__ == "__main__":
    run_tests([test_submission_delivered_intact_then_bounce_and_retry,
               test_no_bounce_to_the_null_sender_and_null_mx,
               test_forwarder_uses_srs_and_spf_passes])
