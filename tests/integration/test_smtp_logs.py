"""tern-mta headers and log lines (issue 18): a forged EHLO is quoted in Received,
Return-Path headers that arrive with a message are removed, peer values are escaped in
log lines, nothing is logged after a refused AUTH, one id per transaction (250 reply,
Received, every log line), key=value results with orig_to for aliases, an auto-reply to
a local sender is delivered at once, one connect and one disconnect line per session,
timestamps with their UTC offset; POP3 logs which messages were retrieved and deleted."""
import os
import poplib
import re
import smtplib
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests, wait_until  # noqa: E402

PW = "s3cret-pw-long"
env = None


def raw():
    s = socket.create_connection(("127.0.0.1", env.port("smtp")), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    return s, f


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError(repr(lines))
        lines.append(line)
        if line[3:4] == b" ":
            return lines


def inbox(addr):
    return list(env.mailbox(addr, check=False).values())


def test_forged_ehlo_quoted_and_return_path_removed():
    s, f = raw()
    s.sendall(b"EHLO evil\t(by\tforged.example\twith\tESMTP\tid\tX;\tTue,\t1\tJan\t2030)\r\n")
    assert read_reply(f)[-1].startswith(b"250 ")
    s.sendall(b"MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    for _ in range(3):
        read_reply(f)
    s.sendall(b"Return-Path: <forged@evil.example>\r\nSubject: rp\r\nreturn-path:\r\n <again@evil>\r\n"
              b"\r\nbody line\r\nReturn-Path: <kept-in-body>\r\n.\r\n")
    r = read_reply(f)[-1].decode()
    assert r.startswith("250 2.0.0 Ok: queued as "), r
    txid = r.split()[-1]
    s.sendall(b"QUIT\r\n")
    s.close()
    msg = inbox("alice@example.test")[-1]
    head, body = msg.split(b"\r\n\r\n", 1)
    assert head.count(b"Return-Path:") == 1 and head.startswith(b"Return-Path: <s@remote.example>\r\n"), head
    assert b"forged@evil" not in head and b"again@evil" not in head, head
    assert b"Return-Path: <kept-in-body>" in body
    # RFC 5321 4.4: the From-domain is our view of the client, the bad EHLO a comment.
    assert b"Received: from [127.0.0.1] (helo=evil?\\(by?forged.example?with?ESMTP?id?X??Tue,?1?Jan?2030\\))\r\n" in head, head
    assert (b" id " + txid.encode() + b";") in head or (b" id " + txid.encode() + b"\r\n") in head, head
    log = env.log("tern-mta")
    lines = [l for l in log.splitlines() if txid in l]
    assert any("from=<s@remote.example>" in l for l in lines), lines
    assert any(re.search(r"status=delivered to=<alice@example.test> mailbox=INBOX uid=\d+", l) for l in lines), lines
    assert any("removed_return_path=2" in l for l in lines), lines
    assert "\t(by forged" not in log


def test_peer_values_escaped_in_logs():
    s, f = raw()
    s.sendall(b"EHLO x\x1b[31m\xc2\x85\xe2\x80\xa8y\r\n")
    read_reply(f)
    s.sendall(b"MAIL FROM:<a@b> BOGUS=\x1b]0;pwned\x07\r\n")
    read_reply(f)
    s.sendall(b"QUIT\r\n")
    s.close()
    log = env.log("tern-mta")
    assert "\x1b" not in log and "\u2028" not in log and "\x85" not in log
    assert "\\x1b" in log


def test_nothing_logged_after_refused_auth():
    s, f = raw()
    s.sendall(b"EHLO c.example\r\n")
    read_reply(f)
    # Plain-text MX: AUTH is refused; a client that sends its credentials anyway.
    s.sendall(b"AUTH PLAIN\r\n")
    assert read_reply(f)[-1][:1] == b"5"
    secret = b"c2VjcmV0LWNyZWRlbnRpYWwtbGluZQ"
    s.sendall(secret + b"\r\n")
    assert read_reply(f)[-1][:1] == b"5"
    s.sendall(b"QUIT\r\n")
    s.close()
    assert secret.decode() not in env.log("tern-mta")


def test_alias_logs_final_and_original_recipient():
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as c:
        c.sendmail("x@remote.example", ["team@example.test", "whoever@other.test"], b"Subject: alias\r\n\r\nx\r\n")
    log = env.log("tern-mta")
    assert "status=delivered to=<alice@example.test> orig_to=<team@example.test>" in log, log[-3000:]
    assert "status=delivered to=<bob@example.test> orig_to=<team@example.test>" in log
    assert "status=delivered to=<carol@example.test> orig_to=<whoever@other.test>" in log


def test_autoreply_to_local_sender_delivered_at_once():
    f = os.path.join(env.dir, "away.txt")
    with open(f, "w") as fh:
        fh.write("Away.\n")
    env.ctl("autoreply", "set", "carol@example.test", "--subject", "Away", "--body-file", f, "--days", "7")
    before = len(inbox("bob@example.test"))
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as c:
        c.sendmail("bob@example.test", ["carol@example.test"], b"Subject: hi carol\r\n\r\nx\r\n")
    msgs = inbox("bob@example.test")
    assert len(msgs) == before + 1, msgs
    assert b"Auto-Submitted: auto-replied" in msgs[-1] and msgs[-1].startswith(b"Return-Path: <>\r\n")
    assert re.search(r"auto-reply from carol@example.test status=delivered to=<bob@example.test> mailbox=INBOX uid=\d+",
                     env.log("tern-mta"))


def test_one_connect_one_disconnect_line_and_utc_offset():
    s, f = raw()
    s.sendall(b"EHLO once.example\r\nQUIT\r\n")
    read_reply(f)
    read_reply(f)
    s.close()
    pattern = r"^.* (\w{8}) disconnect listener=smtp .*helo=once.example .*$"
    wait_until(lambda: re.search(pattern, env.log("tern-mta"), re.M), 10, "the disconnect line")
    log = env.log("tern-mta")
    ids = re.findall(pattern, log, re.M)
    sid = ids[-1]
    mine = [l for l in log.splitlines() if sid in l]
    assert sum(" connect " in l for l in mine) == 1 and sum(" disconnect " in l for l in mine) == 1, mine
    assert all(not re.search(r"client closed|disconnected after", l) for l in mine), mine
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:?\d\d ", mine[0]), mine[0]


def test_pop3_logs_retrieved_and_deleted():
    env.start("tern-pop3d")
    p = poplib.POP3("127.0.0.1", env.port("pop3"), timeout=20)
    p.user("alice@example.test")
    p.pass_(PW)
    n = len(p.list()[1])
    assert n >= 2
    p.retr(1)
    p.retr(2)
    p.dele(1)
    p.dele(2)
    p.quit()
    import time
    for _ in range(50):  # the disconnect line follows the close
        log = env.log("tern-pop3d")
        if "retrieved=2 deleted=2" in log:
            break
        time.sleep(0.1)
    assert re.search(r"pop3 retr user=alice@example.test msg=1 uid=\d+", log), log
    assert re.search(r"pop3 retr user=alice@example.test msg=2 uid=\d+", log)
    assert re.search(r"pop3 deleted user=alice@example.test count=2 uids=\d+", log)
    ds = re.findall(r" disconnect listener=pop3 .* user=alice@example.test retrieved=2 deleted=2 ", log)
    assert len(ds) == 1, log
    assert "pop3 connect" not in log and "pop3 disconnect" not in log


def main():
    global env
    with TernEnv(listeners=["smtp", "pop3"], sections={"pop3": "allow_plaintext_auth = true"}) as e:
        env = e
        e.ctl("domain", "add", "example.test")
        e.ctl("domain", "add", "other.test")
        for u in ("alice", "bob", "carol"):
            e.ctl("user", "add", f"{u}@example.test", "--password-stdin", input=PW + "\n")
        e.ctl("alias", "add", "team@example.test", "alice@example.test,bob@example.test")
        e.ctl("alias", "add", "@other.test", "carol@example.test")
        e.start("tern-mta")
        run_tests([
            test_forged_ehlo_quoted_and_return_path_removed,
            test_peer_values_escaped_in_logs,
            test_nothing_logged_after_refused_auth,
            test_alias_logs_final_and_original_recipient,
            test_autoreply_to_local_sender_delivered_at_once,
            test_one_connect_one_disconnect_line_and_utc_offset,
            test_pop3_logs_retrieved_and_deleted,
        ])


if __name__ == "__main__":
    main()
