"""Submission adds the Date and Message-ID a message lacks (RFC 6409 §8.2/§8.3, as
Postfix's always_add_missing_headers for its submission clients), before DKIM signing:

1. A message submitted over 587 (smtplib, AUTH) without Date and Message-ID, to a remote
   recipient (a private Postfix) and a local one: both copies have exactly one Date
   (RFC 5322 date-time with a zone) and one Message-ID <...@tern's hostname>, the same
   in both, and the DKIM signature at the far end verifies with python3-dkim and covers
   both fields (h=).
2. The same with its own Date and Message-ID: left as they were, nothing added.
3. Mail from another MTA (port 25, no AUTH) without them: stored as it came.
"""
import email.utils
import json
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dkim  # noqa: E402

from ternlib import TernEnv, client_tls_context, free_port, run_tests  # noqa: E402
from outboundlib import PostfixPeer, TestDns, wait_for, zone_txt  # noqa: E402
from test_outbound_dkim import crlf, dnsfunc_for, verify_all  # noqa: E402

PW = "secret-pw-1"
HOST = "mx.example.test"


def fields(msg, name):
    """Values of every `name` field of the header block (unfolded)."""
    head = msg.split(b"\r\n\r\n", 1)[0]
    found = re.findall(rb"^" + name.encode() + rb"[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head,
                       re.M | re.I)
    return [re.sub(rb"\r\n", b"", f).strip().decode() for f in found]


def signed_headers(msg):
    head = msg.split(b"\r\n\r\n", 1)[0]
    f = re.search(rb"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M | re.I).group(1)
    v = re.sub(rb"\s+", b"", f)
    return re.search(rb"(?:^|;)h=([^;]+)", v).group(1).decode().lower().split(":")


def submit(env, subject, extra_headers=""):
    msg = (f"From: A <a@example.test>\r\nTo: X <x@remote.test>, B <b@example.test>\r\n"
           f"Subject: {subject}\r\n{extra_headers}\r\nhello from {subject}\r\n")
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login("a@example.test", PW)
        s.sendmail("a@example.test", ["x@remote.test", "b@example.test"], msg.encode())


def at_peer(pf, subject):
    got = wait_for(lambda: [m for m in pf.maildir_messages("x@remote.test")
                            if f"Subject: {subject}".encode() in m],
                   timeout=60, what=f"delivery of {subject!r}")
    return crlf(got[0])


def stored(env, address, subject):
    got = wait_for(lambda: [m for m in env.mailbox(address).values() if f"Subject: {subject}".encode() in m],
                   timeout=30, what=f"{subject!r} in {address}")
    return crlf(got[0])


def test_missing_date_and_message_id_are_added_to_submissions_only():
    dns_port = free_port()
    with PostfixPeer(users=["x@remote.test"]) as pf, TernEnv(hostname=HOST, extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns_port}"]
[outbound]
port = {pf.port}
retry_min = "1s"
retry_max = "2s"
""") as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
        env.ctl("user", "add", "b@example.test", "--password-stdin", input=PW + "\n")
        env.ctl("dkim", "generate", "example.test", "--selector", "r1")
        keys = json.loads(env.ctl("dkim", "list", "example.test", "--json").stdout)
        zones = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n",
                 "example.test": "".join(zone_txt(f"{k['selector']}._domainkey", k["txt"]) for k in keys)}
        dnsfunc = dnsfunc_for(dns_port)
        with TestDns(zones, port=dns_port):
            env.start("tern-mta")

            # 1. Neither field: both added, the same in the remote and the local copy.
            submit(env, "bare")
            remote, local = at_peer(pf, "bare"), stored(env, "b@example.test", "bare")
            print("added:", fields(remote, "Date"), fields(remote, "Message-ID"))
            for m in (remote, local):
                assert len(fields(m, "Date")) == 1, m[:800]
                assert len(fields(m, "Message-ID")) == 1, m[:800]
            date, mid = fields(remote, "Date")[0], fields(remote, "Message-ID")[0]
            assert email.utils.parsedate_tz(date) is not None, date
            assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", date), date
            assert re.fullmatch(r"<[0-9A-Za-z.]+@" + re.escape(HOST) + ">", mid), mid
            assert fields(local, "Date") == [date] and fields(local, "Message-ID") == [mid]
            # Signed after they were added: the signature covers them and verifies.
            sigs, ok = verify_all(remote, dnsfunc)
            assert ok == [True], (sigs, ok, remote[:1500])
            assert "date" in signed_headers(remote) and "message-id" in signed_headers(remote)

            # 2. Both present: untouched, nothing added.
            submit(env, "dressed", "Date: Mon, 30 Nov 2026 09:15:00 -0500\r\n"
                                   "Message-Id: <dressed.1@client.example>\r\n")
            remote, local = at_peer(pf, "dressed"), stored(env, "b@example.test", "dressed")
            for m in (remote, local):
                assert fields(m, "Date") == ["Mon, 30 Nov 2026 09:15:00 -0500"], m[:800]
                assert fields(m, "Message-ID") == ["<dressed.1@client.example>"], m[:800]
            _, ok = verify_all(remote, dnsfunc)
            assert ok == [True], ok

            # One of them present: only the other is added.
            submit(env, "half", "Message-ID: <half.1@client.example>\r\n")
            remote = at_peer(pf, "half")
            assert fields(remote, "Message-ID") == ["<half.1@client.example>"], remote[:800]
            assert len(fields(remote, "Date")) == 1, remote[:800]

            # 3. From another MTA (MX listener, no AUTH): stored as it came.
            with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
                s.sendmail("someone@elsewhere.test", ["b@example.test"],
                           b"From: someone@elsewhere.test\r\nTo: b@example.test\r\nSubject: inbound\r\n\r\nhi\r\n")
            m = stored(env, "b@example.test", "inbound")
            assert fields(m, "Date") == [] and fields(m, "Message-ID") == [], m[:800]
            env.stop_all()


if __name__ == "__main__":
    run_tests([test_missing_date_and_message_id_are_added_to_submissions_only])
