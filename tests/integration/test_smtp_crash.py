"""Durability under kill -9: 4 smtplib clients deliver over the MX port while tern-mta is
SIGKILLed at random moments and restarted. Every message that got 250 for DATA must be in
the mailbox exactly once afterwards (read back with tern-store-dump), no message may be
stored twice, and `ternctl check` must report no breach.

A message whose DATA was sent but whose reply never came (connection cut by the kill) is
"in doubt": it may or may not be stored, but never twice."""
import os
import random
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

RCPT = "crash@example.test"
CLIENTS = 4
KILLS = 8
TOKEN_RE = re.compile(rb"^Subject: (tok-\d+-\d+)\r\n", re.M)


def dump(env, address, mailbox="INBOX"):
    return list(env.mailbox(address, mailbox).values())


def body_for(token):
    return (f"From: t@remote.example\r\nTo: {RCPT}\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@remote.example>\r\n\r\nbody {token}\r\n"
            + "filler line to give the body some size\r\n" * 40).encode()


class Client(threading.Thread):
    def __init__(self, env, n, stop):
        super().__init__(daemon=True)
        self.env, self.n, self.stop = env, n, stop
        self.acked = []      # tokens that got 250 for DATA
        self.doubt = []      # DATA sent, no reply (connection cut)
        self.refused = []    # a definite non-250 reply (allowed: e.g. 421/451 while shutting down)
        self.seq = 0
        self.errors = 0

    def run(self):
        s = None
        while not self.stop.is_set():
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.env.port("smtp"), timeout=5)
                    s.ehlo("crash-client.example")
                token = f"tok-{self.n}-{self.seq}"
                self.seq += 1
                c, _ = s.mail("sender@remote.example")
                if c != 250:
                    raise smtplib.SMTPResponseException(c, b"MAIL")
                c, _ = s.rcpt(RCPT)
                if c != 250:
                    raise smtplib.SMTPResponseException(c, b"RCPT")
                # From here on the message may reach the store: until a reply is read,
                # it is in doubt.
                self.doubt.append(token)
                try:
                    c, _ = s.data(body_for(token))
                except smtplib.SMTPDataError as e:
                    c = e.smtp_code
                self.doubt.pop()
                if c == 250:
                    self.acked.append(token)
                else:
                    self.refused.append((token, c))
                    raise smtplib.SMTPResponseException(c, b"DATA")
            except (OSError, smtplib.SMTPException):
                self.errors += 1
                if s is not None:
                    try:
                        s.close()
                    except Exception:
                        pass
                s = None
                time.sleep(0.02)
        if s is not None:
            try:
                s.quit()
            except Exception:
                s.close()


def test_kill9_loses_no_acknowledged_message():
    t0 = time.time()
    rnd = random.Random(int(os.environ.get("TERN_SEED", "0")) or None)
    with TernEnv(listeners=["smtp"]) as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", RCPT, "--password-stdin", input="pw-crash\n")
        p = env.start("tern-mta")
        stop = threading.Event()
        clients = [Client(env, i, stop) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        kills = 0
        try:
            for _ in range(KILLS):
                time.sleep(rnd.uniform(0.2, 0.8))
                env.stop(p, signal.SIGKILL)
                assert p.returncode == -signal.SIGKILL, p.returncode
                kills += 1
                p = env.start("tern-mta")
            time.sleep(0.5)  # let clients deliver again after the last restart
        finally:
            stop.set()
            for c in clients:
                c.join(timeout=15)
        assert not any(c.is_alive() for c in clients), "client thread hung"
        alive_after = p.poll() is None
        # the daemon must still answer after the storm
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=5) as s:
            assert s.noop()[0] == 250
        env.stop(p)  # SIGTERM: orderly stop before reading the store offline
        assert alive_after

        acked = [t for c in clients for t in c.acked]
        doubt = [t for c in clients for t in c.doubt]
        refused = [t for c in clients for t in c.refused]
        msgs = dump(env, RCPT)
        counts = {}
        for m in msgs:
            found = TOKEN_RE.findall(m)
            assert len(found) == 1, m[:300]
            counts[found[0].decode()] = counts.get(found[0].decode(), 0) + 1
        dups = {t: n for t, n in counts.items() if n > 1}
        missing = [t for t in acked if t not in counts]
        # every stored message must have been sent by a client (acked, in doubt or refused)
        sent = set(acked) | set(doubt) | {t for t, _ in refused}
        strays = [t for t in counts if t not in sent]
        # stored body must be intact for every stored message
        for m in msgs:
            tok = TOKEN_RE.findall(m)[0].decode()
            assert m.endswith(body_for(tok)), (tok, m[-200:])
        chk = env.ctl("check", check=False)
        elapsed = time.time() - t0
        print(f"kills={kills} acknowledged={len(acked)} present={len(counts)} "
              f"stored_msgs={len(msgs)} in_doubt={len(doubt)} refused={len(refused)} "
              f"acked_present={len(acked) - len(missing)} duplicates={len(dups)} "
              f"client_errors={sum(c.errors for c in clients)} check_rc={chk.returncode} "
              f"elapsed={elapsed:.1f}s", flush=True)
        assert kills == KILLS
        assert len(acked) >= 50, f"too few acknowledged messages to mean anything: {len(acked)}"
        assert not missing, f"acknowledged but missing: {missing[:20]} ({len(missing)})"
        assert not dups, f"stored more than once: {dups}"
        assert not strays, f"stored messages nobody sent: {strays[:10]}"
        # refused (non-250) messages may not be stored: a temporary error means "not taken"
        stored_refused = [t for t, _ in refused if t in counts]
        assert not stored_refused, f"non-250 reply but stored: {stored_refused} {refused}"
        assert chk.returncode == 0, f"ternctl check: rc={chk.returncode}\n{chk.stdout}{chk.stderr}"
        assert elapsed < 60, elapsed


if __name__ == "__main__":
    run_tests([test_kill9_loses_no_acknowledged_message])
