"""tern-mta inbound msgs/s with the SPF/DKIM/DMARC checks on and off (see run.sh).
Both runs use the same signed messages and the same loopback DNS; the difference per
message is the cost of the checks. Sessions run concurrently, so a checks run that is as
fast per connection as the off run shows the checks do not serialise sessions."""
import argparse
import base64
import os
import smtplib
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from ternlib import TernEnv  # noqa: E402
from dnslib import DnsServer  # noqa: E402

import dkim  # noqa: E402


def signed_messages(n, pem):
    out = []
    for i in range(n):
        msg = (f"From: Sender <s@bench.test>\r\nTo: bob@example.test\r\nSubject: bench {i}\r\n"
               f"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{i}@bench.test>\r\n\r\n"
               + "x" * 70 + "\r\n") * 1
        msg = msg.encode() + b"body line\r\n" * 50
        out.append(dkim.sign(msg, b"s1", b"bench.test", pem, include_headers=[b"from", b"to", b"subject"]) + msg)
    return out


def blast(port, msgs, conns):
    chunks = [msgs[i::conns] for i in range(conns)]
    errors = []

    def worker(chunk):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.ehlo("client.bench.test")
                for m in chunk:
                    s.sendmail("s@bench.test", ["bob@example.test"], m)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} connections failed: {errors[0]}")
    return dt


def run(side_on, msgs, conns, dns_port):
    extra = f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\n\n[checks]\nenabled = {"true" if side_on else "false"}\n'
    with TernEnv(extra_config=extra, listeners={"smtp": None}) as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "bob@example.test", "--password-stdin", input="bench-pw-1\n")
        proc = env.start("tern-mta")
        cpu0 = proc_cpu(proc.pid)
        dt = blast(env.port("smtp"), msgs, conns)
        cpu = proc_cpu(proc.pid) - cpu0
        if side_on:
            log = env.log("tern-mta")
            assert "dkim=pass" in log and "spf=pass" in log, "checks did not run"
        return dt, cpu


def proc_cpu(pid):
    """utime+stime of one process, seconds (tern-mta does the checks in-process)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ttl", type=int, default=300,
                    help="TTL of the loopback DNS answers (0: every message asks DNS again)")
    a = ap.parse_args()
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    msgs = signed_messages(a.messages, pem)
    workdir = os.path.join("/tmp", f"tern-bench-checks-{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    dns = DnsServer(workdir, ["test"], txt=[
        ("bench.test", "v=spf1 ip4:127.0.0.1 -all"),
        ("_dmarc.bench.test", "v=DMARC1; p=reject"),
        ("s1._domainkey.bench.test", "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())],
        ttl=a.ttl)
    try:
        res = {True: [], False: []}
        cpus = {True: [], False: []}
        for rep in range(a.reps):  # interleaved: off on on off ...
            order = [False, True] if rep % 2 == 0 else [True, False]
            for side in order:
                dt, cpu = run(side, msgs, a.connections, dns.port)
                res[side].append(dt)
                cpus[side].append(cpu)
                print(f"rep {rep + 1} checks={'on ' if side else 'off'}: {a.messages} msgs in {dt:.2f}s = "
                      f"{a.messages / dt:.0f} msgs/s, tern-mta CPU {cpu * 1000 / a.messages:.3f} ms/msg",
                      flush=True)
        med = {k: median(v) for k, v in res.items()}
        mcpu = {k: median(v) * 1000 / a.messages for k, v in cpus.items()}
        print(f"median: off {a.messages / med[False]:.0f} msgs/s at {mcpu[False]:.3f} ms CPU/msg, "
              f"on {a.messages / med[True]:.0f} msgs/s at {mcpu[True]:.3f} ms CPU/msg; "
              f"on/off msgs/s ratio {med[False] / med[True]:.2f}; checks cost "
              f"{mcpu[True] - mcpu[False]:.3f} ms CPU and "
              f"{(med[True] - med[False]) / a.messages * 1000:.3f} ms wall per message "
              f"({a.connections} connections)")
    finally:
        dns.stop()
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
