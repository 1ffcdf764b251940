"""DKIM signatures of outbound mail, checked by another implementation at the far end:
a message submitted to tern (587, AUTH) is delivered to a private Postfix and the copy
in its Maildir is verified with python3-dkim (dkimpy), whose DNS lookups go to the
test's unbound serving the TXT records `ternctl dkim list` printed. Both signatures
(rsa-sha256 and ed25519-sha256) are verified one by one.

Then key rotation: after `ternctl dkim rotate` the new selectors are not yet in DNS,
so the old keys keep signing (one signature per algorithm, both verify); once DNS
publishes the new records, the new keys sign.
"""
import json
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dkim  # noqa: E402
import dns.resolver  # noqa: E402

from ternlib import TernEnv, client_tls_context, free_port, run_tests  # noqa: E402
from outboundlib import PostfixPeer, TestDns, wait_for, zone_txt  # noqa: E402

PW = "secret-pw-1"


def zones(keys):
    txt = "".join(zone_txt(f"{k['selector']}._domainkey", k["txt"]) for k in keys)
    return {
        "remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n",
        "example.test": txt,
    }


def dnsfunc_for(port):
    def dnsfunc(name, timeout=5):
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = port
        r.lifetime = timeout
        n = name.decode() if isinstance(name, bytes) else name
        try:
            ans = r.resolve(n, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(b"".join(rr.strings) for rr in ans)
    return dnsfunc


def submit(env, subject, body):
    msg = (f"From: A <a@example.test>\r\nTo: X <x@remote.test>\r\nSubject: {subject}\r\n"
           f"Date: Tue, 01 Dec 2026 11:00:00 +0000\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
           f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}")
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("a@example.test", PW)
        s.sendmail("a@example.test", ["x@remote.test"], msg.encode())


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signatures(msg):
    """[(a=, s=)] of every DKIM-Signature field, top first."""
    head = msg.split(b"\r\n\r\n", 1)[0]
    fields = re.findall(rb"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M | re.I)
    out = []
    for f in fields:
        v = re.sub(rb"\s+", b"", f)
        out.append((re.search(rb"(?:^|;)a=([^;]+)", v).group(1).decode(),
                    re.search(rb"(?:^|;)s=([^;]+)", v).group(1).decode()))
    return out


def verify_all(msg, dnsfunc):
    sigs = signatures(msg)
    results = []
    for i in range(len(sigs)):
        try:
            results.append(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc))
        except dkim.ValidationError:  # dkimpy raises for a body hash mismatch
            results.append(False)
    return sigs, results


def delivered(pf, subject):
    return wait_for(lambda: [m for m in pf.maildir_messages("x@remote.test")
                             if f"Subject: {subject}".encode() in m],
                    timeout=60, what=f"delivery of {subject!r}")


def test_signatures_verify_at_the_peer_and_rotation_waits_for_dns():
    dns_port = free_port()
    with PostfixPeer(users=["x@remote.test"]) as pf, TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns_port}"]
[outbound]
port = {pf.port}
retry_min = "1s"
retry_max = "2s"
""") as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
        env.ctl("dkim", "generate", "example.test", "--selector", "r1")
        env.ctl("dkim", "generate", "example.test", "--algo", "ed25519", "--selector", "e1")
        keys = json.loads(env.ctl("dkim", "list", "example.test", "--json").stdout)
        assert sorted(k["selector"] for k in keys) == ["e1", "r1"], keys
        dnsfunc = dnsfunc_for(dns_port)

        # 1. Both signatures verify at the far end (body with 8-bit text, trailing
        #    whitespace, a leading dot and empty lines at the end: canonicalisation).
        with TestDns(zones(keys), port=dns_port):
            env.start("tern-mta")
            submit(env, "signed one", "Grüße aus tern.  \r\n\tindented\t \r\n.dot line\r\n\r\n\r\n")
            msg = crlf(delivered(pf, "signed one")[0])
            sigs, ok = verify_all(msg, dnsfunc)
            print("signatures at the peer:", sigs, ok)
            assert sorted(sigs) == [("ed25519-sha256", "e1"), ("rsa-sha256", "r1")], sigs
            assert ok == [True, True], (sigs, ok, msg[:1500])
            # The verifier is real: a changed body fails both.
            head, body = msg.split(b"\r\n\r\n", 1)
            _, bad = verify_all(head + b"\r\n\r\n" + body.replace(b"tern", b"Tern"), dnsfunc)
            assert bad == [False, False], bad

            # 2. Rotation: new keys, not yet published -> the old ones keep signing.
            out = env.ctl("dkim", "rotate", "example.test").stdout
            assert "the old keys sign until tern sees the new records in DNS" in out, out
            keys2 = json.loads(env.ctl("dkim", "list", "example.test", "--json").stdout)
            new = sorted(k["selector"] for k in keys2 if k["selector"] not in ("r1", "e1"))
            assert len(new) == 2, keys2
            submit(env, "after rotate", "Second message.\r\n")
            msg = crlf(delivered(pf, "after rotate")[0])
            sigs, ok = verify_all(msg, dnsfunc)
            print("after rotate, new records unpublished:", sigs, ok)
            assert sorted(sigs) == [("ed25519-sha256", "e1"), ("rsa-sha256", "r1")], sigs
            assert ok == [True, True], (sigs, ok)
            env.stop_all()

        # 3. The new records are published: the new keys sign (a fresh tern-mta, so no
        #    cached "not published" answer is in the way).
        with TestDns(zones(keys2), port=dns_port):
            env.start("tern-mta")
            submit(env, "after publish", "Third message.\r\n")
            msg = crlf(delivered(pf, "after publish")[0])
            sigs, ok = verify_all(msg, dnsfunc)
            print("after publishing the new records:", sigs, ok)
            assert sorted(s for _, s in sigs) == new, (sigs, new)
            assert len(sigs) == 2 and ok == [True, True], (sigs, ok)
            env.stop_all()


if __name__ == "__main__":
    run_tests([test_signatures_verify_at_the_peer_and_rotation_waits_for_dns])
