"""A full disk gives a temporary error, never silent loss.

The data_dir is a 6 MiB tmpfs (needs root: CI runs the integration tests as root). A filler
file takes part of it, then tern-mta receives ~256 KiB messages until the filesystem is
full. Every DATA reply must be 250 (and the message then reads back byte for byte from
the store) or a 4xx temporary error; never a 5xx, never a crash. After the filler is
deleted a new message gets 250 again and is stored."""
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

RCPT = "full@example.test"
TMPFS_SIZE = "6m"
FILLER = 2 * 1024 * 1024
MSG_BODY = 256 * 1024


def dump(env, address, mailbox="INBOX"):
    return list(env.mailbox(address, mailbox).values())


def message(token):
    line = (f"{token} " + "x" * 70)[:76] + "\r\n"
    n = MSG_BODY // len(line)
    return (f"From: t@remote.example\r\nTo: {RCPT}\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@remote.example>\r\n\r\n" + line * n).encode()


def stored_by_token(env):
    out = {}
    for m in dump(env, RCPT):
        tok = re.search(rb"^Subject: (df-\d+)\r\n", m, re.M)
        assert tok, m[:300]
        out.setdefault(tok.group(1).decode(), []).append(m)
    return out


def df(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def send(env, token):
    """One message on a fresh connection; returns the DATA reply code (or raises)."""
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        s.ehlo("df-client.example")
        assert s.mail("sender@remote.example")[0] == 250
        c, m = s.rcpt(RCPT)
        if c != 250:
            return c, m
        try:
            return s.data(message(token))
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error


def test_full_disk_is_a_temporary_error():
    t0 = time.time()
    with TernEnv(listeners=["smtp"]) as env:
        os.makedirs(env.data_dir, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", env.data_dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(
                f"cannot mount a tmpfs on {env.data_dir} (uid={os.getuid()}; this test needs root, "
                f"as in CI): rc={r.returncode} {r.stderr.strip()}")
        try:
            env.ctl("domain", "add", "example.test")
            env.ctl("user", "add", RCPT, "--password-stdin", input="pw-full-disk\n")
            filler = os.path.join(env.data_dir, "filler.bin")
            with open(filler, "wb") as f:
                f.write(b"\0" * FILLER)  # real pages (tmpfs does not store holes)
            p = env.start("tern-mta")
            replies = []          # (token, code, text)
            acked = []
            temp_failures = 0
            seq = 0
            while temp_failures < 3 and seq < 60 and time.time() - t0 < 40:
                token = f"df-{seq}"
                seq += 1
                c, m = send(env, token)
                replies.append((token, c, m, df(env.data_dir)))
                assert p.poll() is None, f"tern-mta died (rc={p.returncode}) after {token}:\n{env.log('tern-mta')[-2000:]}"
                if c == 250:
                    acked.append(token)
                elif 400 <= c < 500:
                    temp_failures += 1
                    # RFC 5321 452 + RFC 3463 4.3.1 (mail system full)
                    text = m.decode(errors="replace") if isinstance(m, bytes) else str(m)
                    assert c == 452 and "4.3.1" in text, f"{token}: full disk answered {c} {text!r}"
                else:
                    raise AssertionError(f"{token}: permanent/unexpected reply {c} {m!r} with "
                                         f"{df(env.data_dir)} bytes free; replies so far: "
                                         f"{[(t, c) for t, c, _, _ in replies]}\n{env.log('tern-mta')[-2000:]}")
            print("replies: " + " ".join(f"{t}:{c}" for t, c, _, _ in replies), flush=True)
            print(f"first temp error: {next(((t, c, m) for t, c, m, _ in replies if c != 250), None)}",
                  flush=True)
            assert temp_failures >= 1, f"the 6 MiB tmpfs never filled: {len(acked)} accepted"
            assert acked, "nothing accepted before the disk filled"
            # still answering
            with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=10) as s:
                assert s.noop()[0] == 250
            assert p.poll() is None
            # every 250 is stored, byte for byte; nothing refused is stored
            stored = stored_by_token(env)
            for tok in acked:
                assert tok in stored, f"{tok} got 250 but is not in the store"
                assert len(stored[tok]) == 1, f"{tok} stored {len(stored[tok])} times"
                assert stored[tok][0].endswith(message(tok)), f"{tok} stored body differs"
            refused = [t for t, c, _, _ in replies if c != 250]
            assert not [t for t in refused if t in stored], f"4xx but stored: {refused}"
            # free space: a new message is accepted again
            os.unlink(filler)
            free_after = df(env.data_dir)
            c, m = send(env, "df-900")
            assert c == 250, f"after freeing space ({free_after} bytes free): {c} {m!r}\n{env.log('tern-mta')[-2000:]}"
            stored = stored_by_token(env)
            assert "df-900" in stored and stored["df-900"][0].endswith(message("df-900"))
            env.stop(p)
            chk = env.ctl("check", check=False)
            assert chk.returncode == 0, f"ternctl check: {chk.stdout}{chk.stderr}"
            elapsed = time.time() - t0
            print(f"accepted_before_full={len(acked)} temp_errors={temp_failures} "
                  f"codes={sorted({c for _, c, _, _ in replies})} free_after_unlink={free_after} "
                  f"accepted_after_free=1 check_rc={chk.returncode} elapsed={elapsed:.1f}s", flush=True)
            assert elapsed < 60, elapsed
        finally:
            env.stop_all()
            u = subprocess.run(["umount", env.data_dir], capture_output=True, text=True)
            if u.returncode != 0:
                subprocess.run(["umount", "-l", env.data_dir], capture_output=True)


if __name__ == "__main__":
    run_tests([test_full_disk_is_a_temporary_error])
