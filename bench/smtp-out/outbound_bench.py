"""Outbound benchmark (issue 14): tern's queue vs Postfix's queue manager + smtp client,
both sending to Postfix's smtp-sink on loopback, interleaved A B B A.

Load: N messages (default 2,000 x 4 KiB) to user@sink.test from sender@bench.test (not a
domain of tern's, so nothing is DKIM-signed), injected with `smtp-source -d -s 10` into the side's own SMTP listener while the sink is
down, so each message is tried once, fails (connection refused) and sits in the queue,
deferred. Then the sink starts, the clock starts, the queue is flushed (tern: `ternctl
queue flush`, picked up within 250 ms; Postfix: `postqueue -f`), and the clock stops when
the side's log has N "status=sent" lines (both log one per recipient after the peer's 250).
Both then show an empty queue (checked).

Routing: tern resolves sink.test (MX -> 127.0.0.1) through a private dnsmasq
([dns] servers) and connects to [outbound] port; Postfix uses relayhost =
[127.0.0.1]:port (no DNS). Concurrency 10 connections to the one destination on both
(tern: connections_per_destination = 10; Postfix: smtp_destination_concurrency_limit =
10, shipped slow start). No TLS (smtp-sink offers none), no DKIM (the sender domain is
not tern's). Server CPU: each side's whole process tree (benchlib.tree_cpu_seconds)
from the flush to the last "status=sent"; the sink's CPU is not counted.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchlib  # noqa: E402
from benchlib import free_port, log, median, wait_port  # noqa: E402

SINK_DOMAIN = "sink.test"
RCPT = f"user@{SINK_DOMAIN}"


class LogCounter:
    """Counts `needle` in a growing log file, reading only what was appended."""

    def __init__(self, path, needle):
        self.path, self.needle, self.offset, self.count, self.tail = path, needle, 0, 0, b""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.count
        self.offset += len(data)
        buf = self.tail + data
        self.count += buf.count(self.needle) - self.tail.count(self.needle)
        self.tail = buf[-(len(self.needle) - 1):] if len(self.needle) > 1 else b""
        return self.count


def wait_count(counter, target, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        n = counter.poll()
        if n >= target:
            return n
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {n}/{target} {counter.needle.decode()} lines after {timeout}s")
        time.sleep(0.02)


def stop_proc(p):
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


class Sink:
    """Postfix's smtp-sink: accepts everything, stores nothing."""

    def __init__(self, root):
        self.root, self.port, self.proc = root, free_port(), None

    def start(self):
        logf = open(os.path.join(self.root, "sink.log"), "ab")
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{self.port}", "256"],
                                     stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.port)

    def stop(self):
        stop_proc(self.proc)


class Dns:
    def __init__(self, root):
        self.port = free_port()
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                f"--pid-file={os.path.join(root, 'dnsmasq.pid')}", f"--local=/{SINK_DOMAIN}/",
                f"--mx-host={SINK_DOMAIN},mx.{SINK_DOMAIN},10", f"--host-record=mx.{SINK_DOMAIN},127.0.0.1"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port(self.port)

    def stop(self):
        stop_proc(self.proc)


class TernSide:
    name = "tern"

    def __init__(self, root, sink_port):
        self.root, self.sink_port = root, sink_port
        self.bin = benchlib.Tern.bin_dir(("tern-mta",))
        self.proc = self.dns = None

    def ctl(self, *args):
        p = subprocess.run([os.path.join(self.bin, "ternctl"), "--config", self.config, *args],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"ternctl {' '.join(args)}: {p.returncode} {p.stdout}{p.stderr}")
        return p.stdout

    def start(self):
        self.dns = Dns(self.root)
        self.smtp_port = free_port()
        self.config = os.path.join(self.root, "tern.toml")
        self.log_path = os.path.join(self.root, "tern-mta.log")
        with open(self.config, "w") as f:
            f.write(f"""hostname = "mx.bench.test"
data_dir = "{self.root}/var"

[smtp]
listen = ["127.0.0.1:{self.smtp_port}"]
trusted_networks = ["127.0.0.0/8"]   # relay for the injector, as Postfix's mynetworks

[submission]
listen = []

[submissions]
listen = []

[limits]
connections_per_ip = 1000

[dns]
servers = ["127.0.0.1:{self.dns.port}"]

[outbound]
port = {self.sink_port}
connections_per_destination = 10
retry_min = "1h"                     # the first (refused) attempt defers until the flush
""")
        self.ctl("init")
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin, "tern-mta"), "--config", self.config],
                                     stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.root)
        wait_port(self.smtp_port)

    def flush(self):
        self.ctl("queue", "flush")

    def queue_empty(self):
        return self.ctl("queue", "list").strip() == ""

    def cpu_seconds(self):
        return benchlib.tree_cpu_seconds([self.proc.pid])

    def stop(self):
        stop_proc(self.proc)
        if self.dns:
            self.dns.stop()


class PostfixSide:
    name = "postfix"

    def __init__(self, root, sink_port):
        self.root, self.sink_port = root, sink_port

    def postfix(self, *args):
        env = dict(os.environ, MAIL_CONFIG=self.etc)
        return subprocess.run(["script", "-qec", " ".join(["postfix", "-c", self.etc, *args]), "/dev/null"],
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self):
        import pwd
        p = os.path.join(self.root, "postfix")
        self.etc = os.path.join(p, "etc")
        os.makedirs(self.etc)
        os.makedirs(os.path.join(p, "data"))
        os.makedirs(os.path.join(p, "spool"))
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(p, "data"), pf.pw_uid, pf.pw_gid)
        shutil.copy("/etc/postfix/master.cf", self.etc)
        for name in ("dynamicmaps.cf", "postfix-files"):
            shutil.copy(os.path.join("/etc/postfix", name), self.etc)
        for name in ("dynamicmaps.cf.d", "postfix-files.d"):
            shutil.copytree(os.path.join("/etc/postfix", name), os.path.join(self.etc, name))
        self.smtp_port = free_port()
        self.log_path = os.path.join(p, "postfix.log")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""\
# Private Postfix 3.7 relaying everything to the sink: shipped defaults apart from plumbing.
compatibility_level = 3.6
queue_directory = {p}/spool
data_directory = {p}/data
meta_directory = {self.etc}
maillog_file = {self.log_path}
maillog_file_prefixes = {p}
myhostname = mx.bench.test
mydomain = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
relayhost = [127.0.0.1]:{self.sink_port}
smtp_destination_concurrency_limit = 10
smtpd_banner = $myhostname ESMTP
biff = no
""")
        master = os.path.join(self.etc, "master.cf")
        with open(master) as f:
            text = f.read()
        text = text.replace("\nsmtp      inet  n       -       y       -       -       smtpd",
                            f"\n127.0.0.1:{self.smtp_port} inet  n       -       n       -       -       smtpd", 1)
        with open(master, "w") as f:
            f.write(text)
        subprocess.run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], check=True)
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stdout}{r.stderr}")
        wait_port(self.smtp_port)

    def flush(self):
        subprocess.run(["postqueue", "-c", self.etc, "-f"], check=True, capture_output=True)

    def queue_empty(self):
        out = subprocess.run(["postqueue", "-c", self.etc, "-p"], capture_output=True, text=True).stdout
        return "Mail queue is empty" in out

    def master_pid(self):
        try:
            with open(os.path.join(self.root, "postfix", "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cpu_seconds(self):
        pid = self.master_pid()
        return benchlib.tree_cpu_seconds([pid] if pid else [])

    def stop(self):
        pid = self.master_pid()
        pids = benchlib.tree_pids([pid]) if pid else []
        self.postfix("stop")
        deadline = time.time() + 10
        while time.time() < deadline and any(os.path.exists(f"/proc/{x}") for x in pids):
            time.sleep(0.1)
        for x in pids:
            try:
                os.kill(x, signal.SIGKILL)
            except ProcessLookupError:
                pass


def one_rep(side_cls, args):
    root = tempfile.mkdtemp(prefix="tern-bench-out-")
    os.chmod(root, 0o755)
    sink = Sink(root)
    side = side_cls(root, sink.port)
    try:
        side.start()
        benchlib.run_smtp_source(side.smtp_port, args.messages, args.sessions, args.size, RCPT)
        wait_count(LogCounter(side.log_path, b"status=deferred"), args.messages, 300,
                   f"{side.name} first attempts")
        # A "status=deferred" line is logged before its attempt's commit, and tern picks
        # up new mail at once: let the last first attempts end (and commit) before the
        # sink starts, or a flush could race a deferral still being recorded.
        time.sleep(1.0)
        sent = LogCounter(side.log_path, b"status=sent")
        sink.start()
        load = open("/proc/loadavg").read().split()[0]
        cpu0 = side.cpu_seconds()
        t0 = time.monotonic()
        side.flush()
        wait_count(sent, args.messages, 600, f"{side.name} delivery")
        t1 = time.monotonic()
        cpu1 = side.cpu_seconds()
        deadline = time.monotonic() + 30
        while not side.queue_empty():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{side.name}: queue not empty after every status=sent")
            time.sleep(0.1)
        return {"side": side.name, "per_s": args.messages / (t1 - t0), "seconds": t1 - t0,
                "cpu_s": cpu1 - cpu0, "cpu_ms_per_msg": (cpu1 - cpu0) * 1000 / args.messages, "load1": load}
    finally:
        side.stop()
        sink.stop()
        if os.environ.get("TERN_BENCH_KEEP") == "1":
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=6, help="repetitions of each side")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=10, help="smtp-source sessions (injection)")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sides", default="auto", help="auto (tern+postfix if tern is built), postfix, tern+postfix")
    args = ap.parse_args()
    benchlib.install_signal_exit()
    for tool in ("/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} missing (Debian's postfix package)")
    sides = args.sides
    if sides == "auto":
        sides = "tern+postfix" if benchlib.Tern.available(("tern-mta",)) else "postfix"
        if sides == "postfix":
            log("tern-mta or ternctl missing (build/bin, build-bench/bin): measuring Postfix only")
    classes = {"tern": TernSide, "postfix": PostfixSide}
    names = sides.split("+")
    a = classes[names[0]]
    b = classes[names[1]] if len(names) > 1 else None
    order = benchlib.abba(args.reps) if b else ["A"] * args.reps
    results = {"A": [], "B": []}
    print(f"# smtp-out bench: {args.messages} msgs x {args.size} B queued, 10 connections to smtp-sink; "
          f"order {' '.join(order)}  (A={names[0]}{', B=' + names[1] if b else ''})", flush=True)
    for i, letter in enumerate(order):
        r = one_rep(a if letter == "A" else b, args)
        results[letter].append(r)
        print(f"rep {i + 1:2d} {letter}={r['side']:7s} sent {r['per_s']:7.1f} msg/s  {r['seconds']:6.2f} s"
              f"  server CPU {r['cpu_s']:6.2f} s = {r['cpu_ms_per_msg']:5.2f} ms/msg  load1 {r['load1']}",
              flush=True)

    def med(letter, key):
        return median([r[key] for r in results[letter]])

    print()
    print("| side | sent msgs/s (median) | server CPU ms/msg | reps |")
    print("|---|---|---|---|")
    for letter, name in (("A", names[0]), ("B", names[1] if b else None)):
        if name:
            print(f"| {name} ({letter}) | {med(letter, 'per_s'):.0f} | {med(letter, 'cpu_ms_per_msg'):.2f} | "
                  f"{len(results[letter])} |")
    if b:
        print(f"\nratio {names[0]}/{names[1]} msgs/s: {med('A', 'per_s') / med('B', 'per_s'):.2f}; "
              f"CPU per message {names[1]}/{names[0]}: "
              f"{med('B', 'cpu_ms_per_msg') / med('A', 'cpu_ms_per_msg'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
