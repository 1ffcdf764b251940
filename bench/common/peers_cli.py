"""Start a private Postfix + Dovecot (benchlib.Peers), run a command beside it, stop it.

    peers.sh                 start, verify delivery SMTP -> LMTP -> Maildir -> POP3, stop
    peers.sh CMD [ARGS...]   start, run CMD with PEER_ROOT, PEER_SMTP_PORT, PEER_POP3_PORT,
                             PEER_IMAP_PORT and PEER_PASSWORD in its environment, stop
Users: user@bench.test and warm@bench.test, password "benchpass" ($6$ hashes).
"""
import os
import poplib
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def verify(peers):
    body = "Subject: peers check\r\n\r\nhello through postfix and dovecot\r\n"
    with smtplib.SMTP("127.0.0.1", peers.smtp_port, timeout=10) as s:
        s.sendmail(f"sender@{benchlib.DOMAIN}", [f"user@{benchlib.DOMAIN}"], body)
    deadline = time.time() + 20
    while peers.mailbox_count(f"user@{benchlib.DOMAIN}") < 1:
        if time.time() > deadline:
            raise SystemExit("FAIL: message did not reach the Maildir within 20 s")
        time.sleep(0.05)
    print(f"Maildir: {peers.maildir('user@' + benchlib.DOMAIN)} holds 1 message")
    p = poplib.POP3("127.0.0.1", peers.pop3_port, timeout=10)
    p.user(f"user@{benchlib.DOMAIN}")
    p.pass_(benchlib.PASSWORD)
    count, size = p.stat()
    lines = p.retr(1)[1]
    p.quit()
    text = b"\n".join(lines).decode()
    ok = count == 1 and "hello through postfix and dovecot" in text
    print(f"POP3 STAT: {count} messages, {size} octets; RETR 1: {len(lines)} lines")
    print(text)
    if not ok:
        raise SystemExit("FAIL: POP3 did not return the delivered message")
    print(f"peers OK; server CPU so far {peers.cpu_seconds():.2f} s")


def main():
    benchlib.install_signal_exit()
    users = benchlib.make_users(["user", "warm"])
    peers = benchlib.Peers(users)
    try:
        peers.start()
        benchlib.log(f"peers up in {peers.root}: smtp {peers.smtp_port} pop3 {peers.pop3_port} "
                     f"imap {peers.imap_port}")
        if len(sys.argv) == 1:
            verify(peers)
            return 0
        env = dict(os.environ, PEER_ROOT=peers.root, PEER_SMTP_PORT=str(peers.smtp_port),
                   PEER_POP3_PORT=str(peers.pop3_port), PEER_IMAP_PORT=str(peers.imap_port),
                   PEER_PASSWORD=benchlib.PASSWORD)
        return subprocess.call(sys.argv[1:], env=env)
    finally:
        peers.stop()


if __name__ == "__main__":
    sys.exit(main())
