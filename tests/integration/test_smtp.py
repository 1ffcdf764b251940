"""tern-mta with real clients: smtplib (plain, STARTTLS, SMTP_SSL, AUTH), swaks,
openssl s_client, raw sockets. Every delivered message is read back from the store
(build/bin/tern-store-dump) and compared byte for byte after the added
Return-Path/Received lines."""
import base64
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests, client_tls_context  # noqa: E402

LISTENERS = ["smtp", "submission", "submissions"]
PW = "s3cret-pw"
env = None


LIMITS = 'command_timeout = "3s"\nrecipients = 5\nerror_limit = 6\nmessage_size = "64K"\nauth_failures = 3\ndata_timeout = "2s"'


def setup_env(e):
    e.ctl("domain", "add", "example.test")
    e.ctl("domain", "add", "other.test")
    for u in ("alice", "bob", "carol", "full", "small", "off"):
        e.ctl("user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
    e.ctl("user", "quota", "small@example.test", "1K")
    e.ctl("user", "disable", "off@example.test")
    e.ctl("alias", "add", "team@example.test", "alice@example.test,bob@example.test")
    e.ctl("alias", "add", "fwd@example.test", "someone@remote.test")
    e.ctl("alias", "add", "@other.test", "carol@example.test")
    e.start("tern-mta")


def dump(address, mailbox="INBOX"):
    return list(env.mailbox(address, mailbox, check=False).values())


def dump_queue():
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--queue"],
                          capture_output=True, timeout=30).stdout


def dump_events():
    return subprocess.run([env.bin("tern-store-dump"), "--data-dir", env.data_dir, "--events"],
                          capture_output=True, timeout=30, text=True).stdout


def wait_events(text, timeout=10):
    """Refusal events are committed in batches ([store] events_flush, 1s): the events
    once `text` is among them."""
    deadline = time.time() + timeout
    while True:
        ev = dump_events()
        if text in ev or time.time() > deadline:
            return ev
        time.sleep(0.2)


def strip_trace(msg):
    """Remove the Return-Path and the (folded) Received header tern prepends."""
    assert msg.startswith(b"Return-Path: <"), msg[:80]
    rest = msg[msg.index(b"\r\n") + 2:]
    assert rest.startswith(b"Received: from "), rest[:80]
    i = rest.index(b"\r\n")
    while rest[i + 2:i + 3] in (b"\t", b" "):
        i = rest.index(b"\r\n", i + 2)
    return rest[:i + 2], rest[i + 2:]


def last_body(address):
    msgs = dump(address)
    assert msgs, f"no message for {address}"
    return strip_trace(msgs[-1])


def unique_body(tag, sender="t@remote.example"):
    # An authenticated client may send only with a From: it owns ([smtp] check_header_from).
    # With Date and Message-ID: a submission lacking them gets them added (RFC 6409 §8).
    return (f"From: {sender}\r\nTo: x@example.test\r\nSubject: {tag}\r\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{tag}@remote.example>\r\n\r\nbody {tag}\r\n.leading dot\r\n"
            "line two\r\n").encode()


def smtp():
    return smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=10)


def raw(port=None, tls=False):
    s = socket.create_connection(("127.0.0.1", port or env.port("smtp")), timeout=10)
    if tls:
        s = client_tls_context().wrap_socket(s)
    f = s.makefile("rb")
    greet = f.readline()
    assert greet.startswith(b"220 "), greet
    return s, f


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("closed: " + repr(lines))
        lines.append(line)
        if line[3:4] == b" ":
            return lines


def code(lines):
    return lines[-1][:9].decode()


# ----------------------------------------------------------------------------- tests
def test_plain_mx_delivery_byte_for_byte():
    body = unique_body("plain1")
    with smtp() as s:
        assert s.ehlo()[0] == 250
        assert "pipelining" in s.esmtp_features and "chunking" in s.esmtp_features
        assert "auth" not in s.esmtp_features  # MX without [smtp] auth
        assert s.esmtp_features["size"] == str(64 * 1024)
        s.sendmail("sender@remote.example", ["alice@example.test"], body)
    received, stored = last_body("alice@example.test")
    # smtplib dot-stuffs ".leading dot"; the store must hold the original bytes.
    assert stored == body, (stored, body)
    assert b"by mx.example.test (tern) with ESMTP id " in received
    assert b"for <alice@example.test>;" in received
    assert dump("alice@example.test")[-1].startswith(b"Return-Path: <sender@remote.example>\r\n")


def test_unknown_user_disabled_and_relay_refused():
    with smtp() as s:
        s.ehlo()
        s.mail("x@remote.example")
        assert s.rcpt("nobody@example.test")[:2] == (550, b"5.1.1 No such user here")
        assert s.rcpt("off@example.test")[0] == 550
        assert s.rcpt("off@example.test")[1].startswith(b"5.2.1")
        c, m = s.rcpt("victim@elsewhere.test")
        assert (c, m[:5]) == (554, b"5.7.1"), (c, m)
        assert s.rcpt("x@[192.0.2.1]")[0] == 554
        assert s.vrfy("alice@example.test")[0] == 252
        assert s.vrfy("nobody@example.test")[0] == 252
    ev = wait_events("rejected <x@remote.example> <nobody@example.test> unknown-user")
    assert "rejected <x@remote.example> <nobody@example.test> unknown-user" in ev, ev


def test_starttls_on_mx():
    body = unique_body("tls1")
    with smtp() as s:
        s.ehlo()
        assert "starttls" in s.esmtp_features
        s.starttls(context=client_tls_context())
        s.ehlo()
        assert "starttls" not in s.esmtp_features
        s.sendmail("sender@remote.example", ["bob@example.test"], body)
    received, stored = last_body("bob@example.test")
    assert stored == body
    assert b"with ESMTPS id" in received and b"(using TLSv1." in received, received


def test_submission_requires_tls_then_auth_plain_and_relays():
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=10) as s:
        s.ehlo()
        assert "auth" not in s.esmtp_features  # never before TLS
        assert s.mail("alice@example.test")[0] == 530
        s.starttls(context=client_tls_context())
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"] and "SCRAM-SHA-256" in s.esmtp_features["auth"]
        assert s.mail("alice@example.test")[:2] == (530, b"5.7.0 Authentication required")
        s.rset()
        try:
            s.login("alice@example.test", "wrong")
            raise AssertionError("bad password accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
        s.auth("PLAIN", lambda challenge=None: f"\0alice@example.test\0{PW}", initial_response_ok=True)
        body = unique_body("relay1", "alice@example.test")
        s.mail("alice@example.test", ["RET=HDRS", "ENVID=env+2B1"])
        assert s.rcpt("friend@remote.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;friend@remote.test"])[0] == 250
        assert s.rcpt("bob@example.test")[0] == 250
        assert s.data(body)[0] == 250
    q = dump_queue()
    assert b"from=<alice@example.test> to=<friend@remote.test> notify=SUCCESS,FAILURE orcpt=rfc822;friend@remote.test ret=HDRS envid=env+1" in q, q
    received, stored = last_body("bob@example.test")
    assert stored == body and b"with ESMTPSA" in received


def test_sender_ownership_553():
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=10) as s:
        s.starttls(context=client_tls_context())
        s.login("alice@example.test", PW)
        c, m = s.mail("bob@example.test")
        assert (c, m[:5]) == (553, b"5.7.1"), (c, m)
        assert s.mail("alice+tag@example.test")[0] == 250  # plus-address resolves to alice
        s.rset()
        assert s.mail("team@example.test")[0] == 250       # alias pointing to alice
        s.rset()
        assert s.mail("stranger@remote.test")[0] == 553


def test_submissions_implicit_tls_auth_login():
    with smtplib.SMTP_SSL("127.0.0.1", env.port("submissions"), timeout=10,
                          context=client_tls_context()) as s:
        s.ehlo()
        assert "starttls" not in s.esmtp_features
        s.user, s.password = "carol@example.test", PW
        assert s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0] == 235
        body = unique_body("ssl1", "carol@example.test")
        s.sendmail("carol@example.test", ["alice@example.test"], body)
    assert last_body("alice@example.test")[1] == body


def test_scram_sha256_on_submissions():
    import hashlib
    import hmac
    sock, f = raw(env.port("submissions"), tls=True)
    sock.sendall(b"EHLO c\r\n")
    read_reply(f)
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n=bob@example.test,r={cnonce}"
    sock.sendall(b"AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()) + b"\r\n")
    r = read_reply(f)
    assert r[0].startswith(b"334 "), r
    server_first = base64.b64decode(r[0][4:].strip()).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salt, it, nonce = base64.b64decode(attrs["s"]), int(attrs["i"]), attrs["r"]
    salted = hashlib.pbkdf2_hmac("sha256", PW.encode(), salt, it)
    ckey = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(ckey).digest()
    final_wo = f"c=biws,r={nonce}"
    auth_msg = f"{first_bare},{server_first},{final_wo}".encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(ckey, sig))).decode()
    sock.sendall(base64.b64encode(f"{final_wo},p={proof}".encode()) + b"\r\n")
    r = read_reply(f)
    if r[0].startswith(b"334 "):
        sock.sendall(b"\r\n")
        r = read_reply(f)
    assert code(r) == "235 2.7.0", r
    sock.close()


def test_quota_452_and_552():
    with smtp() as s:
        s.ehlo()
        s.mail("x@remote.example", ["SIZE=5000"])
        c, m = s.rcpt("small@example.test")
        assert (c, m[:5]) == (552, b"5.2.2"), (c, m)
        s.rset()
        s.sendmail("x@remote.example", ["small@example.test"], b"Subject: q\r\n\r\n" + b"x" * 700 + b"\r\n")
        s.mail("x@remote.example", ["SIZE=400"])
        c, m = s.rcpt("small@example.test")
        assert (c, m[:5]) == (452, b"4.2.2"), (c, m)


def test_aliases_catchall_plus_addressing():
    with smtp() as s:
        s.sendmail("x@remote.example", ["team@example.test"], unique_body("alias1"))
        s.sendmail("x@remote.example", ["anything@other.test"], unique_body("catch1"))
        s.sendmail("x@remote.example", ["bob+news@example.test"], unique_body("plus1"))
        s.sendmail("x@remote.example", ["fwd@example.test"], unique_body("fwd1"))
    assert last_body("alice@example.test")[1] == unique_body("alias1")
    assert strip_trace(dump("bob@example.test")[-2])[1] == unique_body("alias1")
    assert last_body("carol@example.test")[1] == unique_body("catch1")
    assert last_body("bob@example.test")[1] == unique_body("plus1")
    assert b"to=<someone@remote.test>" in dump_queue()
    assert "forwarded <x@remote.example> <fwd@example.test>" in dump_events()


def test_pipelined_transactions_raw():
    sock, f = raw()
    cmds = b"EHLO pipe\r\nMAIL FROM:<p@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n"
    sock.sendall(cmds)
    replies = [code(read_reply(f)) for _ in range(5)]
    assert replies == ["250 HELP\r", "250 2.1.0", "250 2.1.5", "550 5.1.1", "354 End d"], replies
    body = unique_body("pipe1")
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    # End of data and the next transaction in one write (pipelining after DATA).
    sock.sendall(stuffed + b".\r\nMAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    replies = [code(read_reply(f)) for _ in range(4)]
    assert replies[0] == "250 2.0.0" and replies[1:] == ["250 2.1.0", "250 2.1.5", "354 End d"], replies
    sock.sendall(stuffed + b".\r\nQUIT\r\n")
    assert code(read_reply(f)) == "250 2.0.0"
    assert code(read_reply(f)) == "221 2.0.0"
    sock.close()
    assert last_body("alice@example.test")[1] == body
    assert last_body("bob@example.test")[1] == body


def test_bdat_chunking_raw():
    sock, f = raw()
    body = unique_body("bdat1")
    a, b = body[:30], body[30:]
    sock.sendall(b"EHLO c\r\nMAIL FROM:<b@remote.example>\r\nRCPT TO:<carol@example.test>\r\n")
    for _ in range(3):
        read_reply(f)
    sock.sendall(b"BDAT %d\r\n" % len(a) + a)
    assert code(read_reply(f)) == "250 2.0.0"
    sock.sendall(b"BDAT %d LAST\r\n" % len(b) + b)
    assert code(read_reply(f)) == "250 2.0.0"
    # A BDAT without a transaction is refused, and its octets are swallowed.
    sock.sendall(b"BDAT 12\r\nQUIT\r\nQUIT\r\nNOOP\r\n")
    assert code(read_reply(f)) == "503 5.5.1"
    assert code(read_reply(f)) == "250 2.0.0"
    sock.close()
    assert last_body("carol@example.test")[1] == body


SMUGGLING = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r"]


def test_smuggling_vectors_never_end_data():
    before = len(dump("alice@example.test"))
    for v in SMUGGLING:
        sock, f = raw()
        sock.sendall(b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        for _ in range(4):
            read_reply(f)
        sock.sendall(b"Subject: smuggle\r\n\r\nhi" + v +
                     b"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                     b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
        r = read_reply(f)
        assert code(r) == "550 5.5.2", (v, r)
        sock.sendall(b"QUIT\r\n")
        assert code(read_reply(f)) == "221 2.0.0"
        sock.close()
    assert len(dump("alice@example.test")) == before
    assert not any(b"smuggled" in m for m in dump("bob@example.test"))
    assert "rejected <s@remote.example> <alice@example.test> body: 550 5.5.2" in \
        wait_events("rejected <s@remote.example> <alice@example.test> body: 550 5.5.2")


def test_bad_input_lines():
    sock, f = raw()
    sock.sendall(b"EHLO c\r\n")
    read_reply(f)
    sock.sendall(b"NOOP " + b"x" * 600 + b"\r\n")
    assert code(read_reply(f)) == "500 5.5.2"
    sock.sendall(b"MAIL FROM:<a@b>\x00\r\n")
    assert code(read_reply(f)) == "500 5.5.2"
    sock.sendall(b"NOOP\n")
    assert code(read_reply(f)) == "500 5.5.2"
    sock.sendall(b"RSET\r\n")  # still usable afterwards
    assert code(read_reply(f)) == "250 2.0.0"
    sock.sendall(b"\xff\xfe\x01garbage\r\n")
    assert code(read_reply(f)) == "500 5.5.2"
    # Fifth and sixth error reach error_limit = 6: 421 then close.
    sock.sendall(b"FOO\r\nBAR\r\n")
    assert code(read_reply(f)) == "500 5.5.1"
    r = read_reply(f)
    assert code(r) == "500 5.5.1", r
    r = read_reply(f)
    assert code(r) == "421 4.7.0", r
    assert f.read() == b""
    sock.close()


def test_long_data_line_nul_and_size():
    with smtp() as s:
        s.ehlo()
        s.mail("x@remote.example")
        s.rcpt("alice@example.test")
        c, m = s.data(b"Subject: long\r\n\r\n" + b"y" * 1200 + b"\r\n")
        assert (c, m[:5]) == (500, b"5.5.2"), (c, m)
        s.mail("x@remote.example")
        s.rcpt("alice@example.test")
        c, m = s.data(b"Subject: nul\r\n\r\na\x00b\r\n")
        assert (c, m[:5]) == (554, b"5.6.0"), (c, m)
        s.mail("x@remote.example")
        s.rcpt("alice@example.test")
        c, m = s.data(b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 80)
        assert (c, m[:5]) == (552, b"5.3.4"), (c, m)
        c, m = s.mail("x@remote.example", ["SIZE=100000"])
        assert (c, m[:5]) == (552, b"5.3.4"), (c, m)


def test_too_many_recipients_and_sequence():
    sock, f = raw()
    sock.sendall(b"MAIL FROM:<a@remote.example>\r\n")
    assert code(read_reply(f)) == "503 5.5.1"
    sock.sendall(b"EHLO c\r\nDATA\r\nMAIL FROM:<a@remote.example>\r\nDATA\r\n")
    read_reply(f)
    assert code(read_reply(f)) == "503 5.5.1"
    assert code(read_reply(f)) == "250 2.1.0"
    assert code(read_reply(f)) == "554 5.5.1"
    sock.sendall(b"".join(b"RCPT TO:<alice@example.test>\r\n" for _ in range(6)))
    codes = [code(read_reply(f)) for _ in range(6)]
    assert codes == ["250 2.1.5"] * 5 + ["452 4.5.3"], codes
    sock.close()


def test_smtputf8_addresses():
    sock, f = raw()
    sock.sendall(b"EHLO c\r\n")
    read_reply(f)
    sock.sendall("MAIL FROM:<j\u00f6rg@b\u00fccher.example>\r\n".encode())
    assert code(read_reply(f)) == "553 5.6.7"
    sock.sendall("MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8 BODY=8BITMIME\r\n".encode())
    assert code(read_reply(f)) == "250 2.1.0"
    sock.sendall(b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert code(read_reply(f)) == "250 2.1.5"
    assert code(read_reply(f)).startswith("354")
    body = "Subject: \u00fcber\r\n\r\nGr\u00fc\u00dfe\r\n".encode()
    sock.sendall(body + b".\r\n")
    assert code(read_reply(f)) == "250 2.0.0"
    sock.close()
    received, stored = last_body("alice@example.test")
    assert stored == body and b"with UTF8SMTP id" in received, received


def test_slow_client_times_out():
    sock, f = raw()
    t0 = time.time()
    r = read_reply(f)  # command_timeout = 3s
    assert code(r) == "421 4.4.2", r
    assert 2 <= time.time() - t0 < 8
    assert f.read() == b""
    sock.close()


def test_slow_data_times_out():
    sock, f = raw()
    sock.sendall(b"EHLO c\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    for _ in range(4):
        read_reply(f)
    sock.sendall(b"Subject: slow\r\n\r\npart")
    t0 = time.time()
    r = read_reply(f)  # data_timeout = 2s
    assert code(r) == "421 4.4.2", r
    assert 1 <= time.time() - t0 < 8
    assert f.read() == b""
    sock.close()


def test_starttls_discards_pipelined_input():
    sock = socket.create_connection(("127.0.0.1", env.port("smtp")), timeout=10)
    f = sock.makefile("rb")
    read_reply(f)
    sock.sendall(b"EHLO c\r\n")
    read_reply(f)
    sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@remote.example>\r\n")
    assert code(read_reply(f)) == "220 2.0.0"
    t = client_tls_context().wrap_socket(sock)
    tf = t.makefile("rb")
    t.sendall(b"RCPT TO:<alice@example.test>\r\n")
    # The injected MAIL was dropped: there is no transaction (and no HELO) now.
    assert code(read_reply(tf)) == "503 5.5.1"
    t.close()


def test_swaks_tls_auth_pipelining_8bitmime():
    body_file = os.path.join(env.dir, "swaks-body.eml")
    body = "Subject: swaks caf\u00e9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsome 8bit text: \u00e9\u00e8\r\n"
    with open(body_file, "wb") as fh:
        fh.write(body.encode()[:-2])  # swaks adds the final CRLF itself
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(env.port("submission")), "--tls",
                        "--auth", "PLAIN", "--auth-user", "bob@example.test", "--auth-password", PW,
                        "--from", "bob@example.test", "--to", "alice@example.test", "--pipeline",
                        "--data", "@" + body_file, "--helo", "swaks.local"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "250 2.0.0 Ok: queued as" in p.stdout
    received, stored = last_body("alice@example.test")
    # The body has neither Date nor Message-ID: submission adds both (RFC 6409 §8.2/8.3)
    # below the Received line and changes nothing else.
    added = re.match(rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n"
                     rb"Message-ID: <[0-9A-Za-z.]+@mx\.example\.test>\r\n", stored)
    assert added, stored
    assert stored[added.end():] == body.encode(), stored
    assert b"from swaks.local" in received and b"ESMTPSA" in received
    # swaks 20201014 has no BODY= option: declare 8BITMIME with smtplib.
    with smtp() as s:
        s.sendmail("x@remote.example", ["alice@example.test"], body.encode(), mail_options=["BODY=8BITMIME"])
    assert last_body("alice@example.test")[1] == body.encode()


def test_openssl_s_client_submissions():
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{env.port('submissions')}", "-quiet",
                        "-crlf"], input="EHLO s-client\nQUIT\n", capture_output=True, text=True, timeout=30)
    assert "220 mx.example.test ESMTP" in p.stdout, p.stdout + p.stderr
    assert "250-AUTH PLAIN LOGIN SCRAM-SHA-256" in p.stdout
    assert "221 2.0.0" in p.stdout


def test_autoreply_rfc3834():
    f = os.path.join(env.dir, "vacation.txt")
    with open(f, "w") as fh:
        fh.write("I am away.\n")
    env.ctl("autoreply", "set", "carol@example.test", "--subject", "Away", "--body-file", f, "--days", "7")
    with smtp() as s:
        s.sendmail("fan@remote.example", ["carol@example.test"], unique_body("ar1"))
        s.sendmail("fan@remote.example", ["carol@example.test"], unique_body("ar2"))  # once per N days
        s.sendmail("list@remote.example", ["carol@example.test"], b"Precedence: bulk\r\nSubject: l\r\n\r\nx\r\n")
        s.sendmail("bot@remote.example", ["carol@example.test"], b"Auto-Submitted: auto-generated\r\n\r\nx\r\n")
        s.sendmail("", ["carol@example.test"], b"Subject: bounce\r\n\r\nx\r\n")
    q = dump_queue()
    replies = [part for part in q.split(b"=== ") if b"to=<" in part and b"Auto-Submitted: auto-replied" in part]
    assert len(replies) == 1, q
    r = replies[0]
    assert b"from=<> to=<fan@remote.example>" in r
    assert b"In-Reply-To: <ar1@remote.example>" in r and b"Subject: Away" in r
    assert "autoreplied <carol@example.test> <fan@remote.example>" in dump_events()


def test_log_lines_and_no_secrets():
    log = env.log("tern-mta")
    assert re.search(r"msg=\S+ from=<sender@remote.example> to=<alice@example.test> helo=\S+ peer=127.0.0.1 "
                     r"size=\d+ proto=ESMTP outcome=\"250 2.0.0 Ok: queued as", log), log[-2000:]
    assert "reject RCPT from=<x@remote.example> to=<nobody@example.test>" in log
    assert PW not in log
    assert base64.b64encode(f"\0alice@example.test\0{PW}".encode()).decode() not in log
    assert "body plain1" not in log  # never message bodies


def test_auth_failures_throttled_454():
    # Runs last: it leaves 127.0.0.1 throttled for a minute ([limits] auth_failures = 3).
    codes = []
    with smtplib.SMTP_SSL("127.0.0.1", env.port("submissions"), timeout=30,
                          context=client_tls_context()) as s:
        s.ehlo()
        for _ in range(4):
            c, _m = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0bob@example.test\0nope").decode())
            codes.append(c)
            if c == 454:
                break
    assert codes[-1] == 454 and set(codes[:-1]) == {535}, codes
    with smtplib.SMTP_SSL("127.0.0.1", env.port("submissions"), timeout=30,
                          context=client_tls_context()) as s:
        s.ehlo()
        c, m = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0bob@example.test\0{PW}".encode()).decode())
        assert (c, m[:5]) == (454, b"4.7.0"), (c, m)  # even the right password, until the window passes


def main():
    global env
    with TernEnv(listeners=LISTENERS, limits=LIMITS) as e:
        env = e
        setup_env(e)
        run_tests([
            test_plain_mx_delivery_byte_for_byte,
            test_unknown_user_disabled_and_relay_refused,
            test_starttls_on_mx,
            test_submission_requires_tls_then_auth_plain_and_relays,
            test_sender_ownership_553,
            test_submissions_implicit_tls_auth_login,
            test_scram_sha256_on_submissions,
            test_quota_452_and_552,
            test_aliases_catchall_plus_addressing,
            test_pipelined_transactions_raw,
            test_bdat_chunking_raw,
            test_smuggling_vectors_never_end_data,
            test_bad_input_lines,
            test_long_data_line_nul_and_size,
            test_too_many_recipients_and_sequence,
            test_smtputf8_addresses,
            test_slow_client_times_out,
            test_slow_data_times_out,
            test_starttls_discards_pipelined_input,
            test_swaks_tls_auth_pipelining_8bitmime,
            test_openssl_s_client_submissions,
            test_autoreply_rfc3834,
            test_log_lines_and_no_secrets,
            test_auth_failures_throttled_454,
        ])


if __name__ == "__main__":
    main()
