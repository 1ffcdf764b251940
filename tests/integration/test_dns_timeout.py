"""[dns] timeout (issue 15): a DNS server that never answers (a loopback UDP socket that
reads every query and drops it) with `[dns] timeout = 1` makes the SPF check a temperror
after about a second, not a hang: MAIL FROM is answered 250 within ~1-2 s, the end of data
(DMARC's question is unanswered too) likewise, and the message is delivered marked
spf=temperror as the [checks] policy says (a temperror is never a refusal)."""
import os
import smtplib
import socket
import sys
import threading
import time

import authres

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

HOST = "mx.example.test"
env = None
sink = None


class DropServer:
    """Reads every datagram and answers none (and counts them)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                self.sock.recvfrom(4096)
                self.received += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def test_spf_temperror_after_the_dns_timeout():
    msg = (f"From: <a@silent.test>\r\nTo: bob@example.test\r\nSubject: silent dns\r\n"
           f"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <silent@test>\r\n\r\nHi.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
        s.ehlo("[127.0.0.1]")
        t0 = time.monotonic()
        code, reply = s.mail("a@silent.test")
        t_mail = time.monotonic() - t0
        assert code == 250, (code, reply)
        assert s.rcpt("bob@example.test")[0] == 250
        t0 = time.monotonic()
        code, reply = s.data(msg)
        t_data = time.monotonic() - t0
        assert code == 250, (code, reply)
    print(f"  [dns] timeout = 1: MAIL FROM answered in {t_mail:.2f}s, end of data in {t_data:.2f}s; "
          f"the silent server read {sink.received} queries", flush=True)
    assert sink.received > 0, "no query reached the silent server"
    assert 0.8 < t_mail < 2.5, t_mail
    assert t_data < 2.5, t_data
    stored = [m for m in env.mailbox("bob@example.test").values() if b"silent dns" in m]
    assert len(stored) == 1
    head = stored[0].split(b"\r\n\r\n", 1)[0].decode()
    fields = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    ar = [authres.AuthenticationResultsHeader.parse(f) for f in fields
          if f.lower().startswith("authentication-results:")]
    assert len(ar) == 1, fields
    got = {r.method: r.result for r in ar[0].results}
    assert got["spf"] == "temperror", str(ar[0])
    assert got["dmarc"] == "temperror", str(ar[0])
    assert "spf=temperror" in env.log("tern-mta")


def main():
    global env, sink
    sink = DropServer()
    env = TernEnv(hostname=HOST, listeners={"smtp": None}, extra_config="")
    with open(env.config_path) as f:
        text = f.read().replace("\n[checks]\nenabled = false\n", "\n", 1)
    text += (f'\n[dns]\nservers = ["127.0.0.1:{sink.port}"]\ntimeout = 1\n\n'
             f'[checks]\nenabled = true\ntimeout = "20s"\n')
    with open(env.config_path, "w") as f:
        f.write(text)
    try:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "bob@example.test", "--password-stdin", input="pw-bob-1234\n")
        env.start("tern-mta")
        run_tests([test_spf_temperror_after_the_dns_timeout])
    finally:
        env.__exit__(None, None, None)
        sink.stop()


if __name__ == "__main__":
    main()
