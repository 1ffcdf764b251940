"""IMAP benchmarks (issue 17): tern-imapd vs Dovecot 2.3 IMAP from Debian, same messages,
same SHA-512 crypt hashes (Dovecot with its auth cache), interleaved A B B A.

    imap_bench.py mix    [--rounds 5] [--clients 20] [--secs 30] [--msgs 1000]
        imaptest's default workload (state tracking on) against a pre-filled INBOX:
        commands/s, errors, server CPU per command.
    imap_bench.py flags  [--rounds 5] [--msgs 100000]
        SELECT INBOX + UID FETCH 1:* (FLAGS) on a big mailbox, each round warm (same
        connection, after one warm-up) and after a restart of the server (new login).
    imap_bench.py idle   [--conns 10000] [--peer-conns N]
        N TLS connections logged in, INBOX selected, in IDLE: RSS and PSS of the whole
        server process tree, per connection.

Mail goes in over IMAP APPEND (LITERAL+, pipelined on 4 connections) to both sides, so
both store the very same bytes. Everything listens on 127.0.0.1, lives under /tmp and is
stopped when the script ends. Run as root, by hand, on a quiet machine.
"""
import argparse
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import benchlib  # noqa: E402
from benchlib import DOMAIN, PASSWORD, log, median  # noqa: E402

IMAPTEST = os.environ.get("IMAPTEST", "/tmp/imaptest-imapd/imaptest")
USER = f"imap@{DOMAIN}"


# -- a small raw IMAP client ------------------------------------------------------------

def tls_client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Imap:
    """Line-level IMAP client: commands in, bytes of the reply up to the tagged line out."""

    def __init__(self, port, tls=False, timeout=120):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            s = tls_client_context().wrap_socket(s, server_hostname=f"mx.{DOMAIN}")
        self.s = s
        self.buf = b""
        self.n = 0
        self.read_until(b"\r\n")  # greeting

    def read_until(self, marker):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError(f"server closed; last: {self.buf[-200:]!r}")
            self.buf += d

    def tag(self):
        self.n += 1
        return f"t{self.n}"

    def cmd(self, text):
        """Sends one command, returns the reply (untagged lines + the tagged one) as a
        bytearray.

        One command at a time: the tagged line is the last thing the server sends, so
        after each recv only the last line of what has arrived is looked at (a few
        bytes), and the reply is scanned once, at memchr speed, for "}" (literals, {n},
        are skipped over by their length, so their octets cannot fake a tagged line).
        Searching the whole reply for the tagged line after every recv, as this did
        before, cost the client ~20 ms of a 3.5 MB FETCH FLAGS reply (now ~2 ms); the
        figure is the server's. Callers check the lines (select_fetch: every one)."""
        t = self.tag()
        self.s.sendall(f"{t} {text}\r\n".encode())
        tag = f"{t} ".encode()
        data = bytearray(self.buf)
        self.buf = b""
        p = 0         # data[:p] is parsed: no literal starts in it
        lit_from = 0  # no "}" before this that opens a literal still unread
        while True:
            while True:
                j = data.find(b"}", lit_from)
                if j < 0 or j + 3 > len(data):
                    lit_from = len(data) if j < 0 else j
                    break
                lit_from = j + 1
                if data[j + 1:j + 3] != b"\r\n":
                    continue
                m = re.search(rb"\{(\d+)\+?$", bytes(data[max(p, j - 24):j]))
                if not m:
                    continue
                p = lit_from = j + 3 + int(m.group(1))
                while len(data) < p:
                    d = self.s.recv(1 << 20)
                    if not d:
                        raise EOFError("server closed inside a literal")
                    data += d
            if len(data) >= p + 2 and data.endswith(b"\r\n"):
                i = data.rfind(b"\r\n", p, len(data) - 2)
                start = i + 2 if i >= 0 else (0 if p == 0 else -1)
                if start >= 0 and data.startswith(tag, start):
                    if not data.startswith(f"{t} OK".encode(), start):
                        raise RuntimeError(f"{text.split()[0]}: {bytes(data[start:])!r}")
                    return data
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError(f"server closed; last: {bytes(data[-200:])!r}")
            data += d

    def login(self, user=USER, password=PASSWORD):
        return self.cmd(f'LOGIN {user} "{password}"')

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def append_fill(port, messages, conns=4, window=64, tls=False):
    """APPENDs every message (bytes, CRLF) to INBOX over `conns` connections, each with
    up to `window` commands in flight (LITERAL+: no continuation round trip)."""
    def done(c):
        while True:
            line = c.read_until(b"\r\n")
            if re.match(rb"a\d+ ", line):
                if not re.match(rb"a\d+ OK", line):
                    raise RuntimeError(f"APPEND: {line!r}")
                return

    def worker(chunk):
        c = Imap(port, tls=tls)
        c.login()
        inflight = 0
        for i, m in enumerate(chunk):
            c.s.sendall(f"a{i} APPEND INBOX {{{len(m)}+}}\r\n".encode() + m + b"\r\n")
            inflight += 1
            if inflight >= window:
                done(c)
                inflight -= 1
        while inflight:
            done(c)
            inflight -= 1
        c.cmd("LOGOUT")
        c.close()
    chunks = [messages[i::conns] for i in range(conns)]
    with ThreadPoolExecutor(max_workers=conns) as pool:
        list(pool.map(worker, chunks))


def mbox_messages(path):
    """The messages of an mbox file ("From " separated), CRLF line ends."""
    with open(path, "rb") as f:
        data = f.read()
    msgs = []
    for part in re.split(rb"(?m)^From [^\n]*\n", data):
        if part.strip():
            msgs.append(part.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    return msgs


def synthetic_messages(n, size=1024):
    out = []
    for i in range(n):
        head = (f"From: Sender {i % 97} <s{i % 97}@example.net>\r\nTo: {USER}\r\n"
                f"Subject: bench message {i}\r\nDate: Tue, 01 Dec 2026 08:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
                f"Message-ID: <{i}.bench@example.net>\r\n\r\n").encode()
        body = (b"The quick brown fox jumps over the lazy dog. " * (size // 45 + 1))[:max(0, size - len(head))]
        out.append(head + body + b"\r\n")
    return out


# -- the sides ------------------------------------------------------------------------------

def tree_memory_kib(pids):
    """(RSS sum, PSS sum) in KiB over every process in the trees rooted at pids."""
    rss = pss = 0
    for pid in benchlib.tree_pids(pids):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


class TernImap:
    name = "tern"

    def __init__(self, users, conns=1000, plain=True):
        self.users = users
        self.conns = conns
        # plain=False: IMAPS only. The idle bench's 10,000 sessions need 10,200 descriptors
        # per listener; two listeners would not fit under a 20,000 RLIMIT_NOFILE.
        self.plain = plain
        self.bin_dir = benchlib.Tern.bin_dir(("tern-imapd",))
        self.root = None
        self.proc = None

    def ctl(self, *args):
        p = subprocess.run([os.path.join(self.bin_dir, "ternctl"), "--config", self.config, *args],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"ternctl {' '.join(args)}: {p.returncode} {p.stdout}{p.stderr}")
        return p.stdout

    def start(self):
        self.root = tempfile.mkdtemp(prefix="tern-bench-imap-")
        self.imap_port, self.imaps_port = benchlib.free_port(), benchlib.free_port()
        self.config = os.path.join(self.root, "tern.toml")
        limit = self.conns + 200
        imap_listen = f'["127.0.0.1:{self.imap_port}"]' if self.plain else "[]"
        with open(self.config, "w") as f:
            # connections / connections_per_ip / auth_failures: plumbing, as the peer's
            # process_limit and mail_max_userip_connections
            f.write(f"""hostname = "mx.{DOMAIN}"
data_dir = "{self.root}/var"

[imap]
listen = {imap_listen}
allow_plaintext_auth = true   # the peer allows plaintext logins on loopback too

[imaps]
listen = ["127.0.0.1:{self.imaps_port}"]

[limits]
connections = {limit}
connections_per_ip = {limit}
auth_failures = 100000
""")
        self.ctl("init")
        self.ctl("domain", "add", DOMAIN)
        for email, h in self.users:
            self.ctl("user", "add", email, "--password-hash", h)
        self._spawn()
        return self

    def _spawn(self):
        logf = open(os.path.join(self.root, "tern-imapd.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin_dir, "tern-imapd"), "--config", self.config],
                                     stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.root)
        if self.plain:
            benchlib.wait_port(self.imap_port)
        benchlib.wait_port(self.imaps_port)

    def restart(self):
        self._kill()
        self._spawn()

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def root_pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def cpu_seconds(self):
        return benchlib.tree_cpu_seconds(self.root_pids())

    def stop(self):
        self._kill()
        if self.root:
            if os.environ.get("TERN_BENCH_KEEP") == "1":
                log(f"kept {self.root}")
            else:
                subprocess.run(["rm", "-rf", self.root])
        self.root = None


DOVECOT_IMAP_CONF = """\
# Private Dovecot 2.3 IMAP for tern's IMAP benchmarks: shipped defaults (high-security
# login processes, one imap process per connection) apart from plumbing: ports, paths,
# TLS files, and process/client limits raised for {conns} connections (bench-facts.md).
base_dir = {root}/dovecot/run
state_dir = {root}/dovecot/state
instance_name = tern-bench-imap-{port}
log_path = {root}/dovecot/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/dovecot/cert.pem
ssl_key = <{root}/dovecot/key.pem
disable_plaintext_auth = no
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = optimized
namespace inbox {{
  inbox = yes
}}
auth_mechanisms = plain login
auth_cache_size = 10M
auth_cache_ttl = 1 hour
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%u {root}/dovecot/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/dovecot/users
}}
default_process_limit = {plimit}
default_client_limit = {climit}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port_tls}
  }}
}}
service stats {{
  client_limit = {climit}
}}
service imap {{
  process_limit = {plimit}
}}
protocol imap {{
  mail_max_userip_connections = {plimit}
}}
"""


class DovecotImap:
    name = "dovecot"

    def __init__(self, users, conns=1000):
        self.users = users
        self.conns = conns
        self.root = None

    def start(self):
        uid, gid = benchlib.ensure_mail_user()
        self.root = tempfile.mkdtemp(prefix="tern-bench-dovecot-imap-")
        os.chmod(self.root, 0o755)
        d = os.path.join(self.root, "dovecot")
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(d, 0o755)
        mail = os.path.join(self.root, "mail")
        os.makedirs(mail)
        os.chown(mail, uid, gid)
        import grp
        with open(os.path.join(d, "users"), "w") as f:
            for email, h in self.users:
                local, domain = email.split("@")
                f.write(f"{email}:{{CRYPT}}{h}:{uid}:{gid}::{os.path.join(mail, domain, local)}::\n")
        os.chown(os.path.join(d, "users"), 0, grp.getgrnam("dovecot").gr_gid)
        os.chmod(os.path.join(d, "users"), 0o640)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", f"/CN=mx.{DOMAIN}", "-keyout", os.path.join(d, "key.pem"),
                        "-out", os.path.join(d, "cert.pem")], check=True, capture_output=True)
        self.imap_port, self.imaps_port = benchlib.free_port(), benchlib.free_port()
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_IMAP_CONF.format(root=self.root, uid=uid, port=self.imap_port,
                                             port_tls=self.imaps_port, conns=self.conns,
                                             plimit=self.conns + 200, climit=2 * self.conns + 1000))
        self._spawn()
        return self

    def fill_maildir(self, messages):
        """Writes the messages straight into the first user's Maildir/cur, as the mail
        user (100,000 IMAP APPENDs to Dovecot took over 19 minutes here); Dovecot gives
        them UIDs at the first SELECT (the bench's warm-up)."""
        uid, gid = benchlib.ensure_mail_user()
        local, domain = self.users[0][0].split("@")
        home = os.path.join(self.root, "mail", domain, local)
        md = os.path.join(home, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        stamp = int(time.time()) - len(messages)
        for i, m in enumerate(messages):
            name = os.path.join(md, "cur", f"{stamp + i}.M{i}P1.bench,S={len(m)}:2,")
            with open(name, "wb") as f:
                f.write(m)
            os.utime(name, (stamp + i, stamp + i))
        for dirpath, dirs, files in os.walk(os.path.join(self.root, "mail", domain)):
            os.chown(dirpath, uid, gid)
            for fn in files:
                os.chown(os.path.join(dirpath, fn), uid, gid)

    def _spawn(self):
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        benchlib.wait_port(self.imap_port)
        benchlib.wait_port(self.imaps_port)

    def restart(self):
        pids = benchlib.tree_pids(self.root_pids())
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        deadline = time.time() + 30
        while time.time() < deadline and any(benchlib._alive(p) for p in pids):
            time.sleep(0.05)
        self._spawn()

    def root_pids(self):
        try:
            with open(os.path.join(self.root, "dovecot", "run", "master.pid")) as f:
                return [int(f.read().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

    def cpu_seconds(self):
        return benchlib.tree_cpu_seconds(self.root_pids())

    def stop(self):
        if self.root is None:
            return
        pids = benchlib.tree_pids(self.root_pids())
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        deadline = time.time() + 30
        while time.time() < deadline and any(benchlib._alive(p) for p in pids):
            time.sleep(0.1)
        for p in pids:
            if benchlib._alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if os.environ.get("TERN_BENCH_KEEP") == "1":
            log(f"kept {self.root}")
        else:
            subprocess.run(["rm", "-rf", self.root])
        self.root = None


def make_sides(spec, users, conns, peer_conns=None, tern_plain=True):
    out = []
    for name in spec.split("+"):
        if name == "tern":
            if benchlib.Tern.bin_dir(("tern-imapd",)) is None:
                raise SystemExit("tern-imapd or ternctl missing (build/bin, build-bench/bin, TERN_BIN)")
            out.append(TernImap(users, conns, plain=tern_plain))
        elif name == "peer":
            out.append(DovecotImap(users, peer_conns or conns))
        else:
            raise SystemExit(f"unknown side {name!r} (tern, peer)")
    return out


# -- (a) imaptest default mix --------------------------------------------------------------

def parse_imaptest(text):
    """(total commands, errors) from imaptest's output: the numbers under "Totals:" and
    the error lines."""
    errors = sum(1 for line in text.splitlines() if "Error:" in line or line.startswith("Panic"))
    lines = text.splitlines()
    total = None
    for i, line in enumerate(lines):
        if line.strip().startswith("Totals:"):
            for nxt in lines[i + 1:]:
                fields = nxt.split()
                if fields and all(f.isdigit() for f in fields):
                    total = sum(int(f) for f in fields)
                    break
    if total is None:
        # no Totals block (short runs): the last all-numbers row of the per-second lines
        rows = [l.split() for l in lines if l.split() and all(f.isdigit() for f in l.split())]
        total = None if not rows else -1
    return total, errors


def bench_mix(args):
    if not os.access(IMAPTEST, os.X_OK):
        raise SystemExit(f"imaptest not found at {IMAPTEST} (IMAPTEST=...; "
                         "build it with /work/shared/tools/build-imaptest.sh)")
    mbox = os.path.join(os.path.dirname(IMAPTEST), "tests", "default.mbox")
    source = mbox_messages(mbox)
    fill = [source[i % len(source)] for i in range(args.msgs)]
    users = benchlib.make_users(["imap"])
    sides = make_sides(args.sides, users, 200)
    try:
        for s in sides:
            s.start()
            t = time.monotonic()
            append_fill(s.imap_port, fill)
            log(f"{s.name}: {len(fill)} messages appended in {time.monotonic() - t:.1f} s")
        order = benchlib.abba(args.rounds) if len(sides) > 1 else ["A"] * args.rounds
        by = dict(zip("AB", sides))
        print(f"# imap mix: imaptest default workload, {args.clients} clients, {args.secs} s, "
              f"msgs={args.msgs}; order {' '.join(order)} (A={sides[0].name}"
              f"{', B=' + sides[1].name if len(sides) > 1 else ''})", flush=True)
        results = {"A": [], "B": []}
        for i, letter in enumerate(order):
            s = by[letter]
            cpu0 = s.cpu_seconds()
            t0 = time.monotonic()
            p = subprocess.run([IMAPTEST, "host=127.0.0.1", f"port={s.imap_port}", f"user={USER}",
                                f"pass={PASSWORD}", f"mbox={mbox}", f"clients={args.clients}",
                                f"secs={args.secs}", f"msgs={args.msgs}"],
                               capture_output=True, text=True, timeout=args.secs + 120)
            wall = time.monotonic() - t0
            cpu = s.cpu_seconds() - cpu0
            out = p.stdout + p.stderr
            total, errors = parse_imaptest(out)
            if total is None or total <= 0:
                log(f"could not read imaptest's totals; its output ends:\n{out[-1500:]}")
                total = 0
            r = {"cmds_s": total / args.secs, "errors": errors,
                 "cpu_us": cpu * 1e6 / total if total else float("nan"), "cpu_s": cpu}
            results[letter].append(r)
            print(f"round {i + 1:2d} {letter}={s.name:7s} {r['cmds_s']:8.0f} commands/s  "
                  f"errors {errors:4d}  server CPU {cpu:6.2f} s = {r['cpu_us']:6.0f} us/command  "
                  f"(wall {wall:.1f} s)", flush=True)
        summarize(results, sides, [("commands/s", "cmds_s", "{:.0f}"), ("errors", "errors", "{:.0f}"),
                                   ("server CPU us/command", "cpu_us", "{:.0f}")],
                  ratio=("cmds_s", True), cpu_key="cpu_us")
    finally:
        for s in sides:
            s.stop()


# -- (b) SELECT + UID FETCH 1:* (FLAGS) -----------------------------------------------------

FETCH_FLAGS_LINE = re.compile(rb"\* (\d+) FETCH \((?:UID (\d+) FLAGS \([^()]*\)|FLAGS \([^()]*\) UID (\d+))\)")


def check_select_fetch(sel, out, expect):
    """Every line of the SELECT and FETCH replies: EXISTS is `expect`, and the FETCH
    answers are `expect` lines "* n FETCH (UID u FLAGS (...))" (either order), n = 1, 2,
    ... and u strictly ascending, then the tagged OK. Not timed (the client's parsing
    is not the server's latency)."""
    if not re.search(rb"^\* %d EXISTS\r$" % expect, bytes(sel), re.M):
        raise RuntimeError(f"SELECT: no * {expect} EXISTS")
    lines = bytes(out).split(b"\r\n")
    if len(lines) != expect + 2 or lines[-1] != b"":
        raise RuntimeError(f"FETCH returned {len(lines) - 2} lines, expected {expect}")
    last = 0
    for n, line in enumerate(lines[:-2], 1):
        m = FETCH_FLAGS_LINE.fullmatch(line)
        if not m or int(m.group(1)) != n:
            raise RuntimeError(f"FETCH line {n}: {line[:100]!r}")
        uid = int(m.group(2) or m.group(3))
        if uid <= last:
            raise RuntimeError(f"FETCH line {n}: UID {uid} after {last}")
        last = uid


def select_fetch(c, expect):
    t0 = time.perf_counter()
    sel = c.cmd("SELECT INBOX")
    out = c.cmd("UID FETCH 1:* (FLAGS)")
    dt = time.perf_counter() - t0
    check_select_fetch(sel, out, expect)
    return dt


def bench_flags(args):
    users = benchlib.make_users(["imap"])
    sides = make_sides(args.sides, users, 200)
    msgs = synthetic_messages(args.msgs, args.size)
    try:
        conn = {}
        for s in sides:
            s.start()
            t = time.monotonic()
            if hasattr(s, "fill_maildir"):
                s.fill_maildir(msgs)
                how = "written into its Maildir"
            else:
                append_fill(s.imap_port, msgs)
                how = "appended"
            log(f"{s.name}: {len(msgs)} messages {how} in {time.monotonic() - t:.1f} s")
            c = Imap(s.imap_port)
            c.login()
            select_fetch(c, args.msgs)  # warm-up: the peer builds its index here
            conn[s.name] = c
        order = benchlib.abba(args.rounds) if len(sides) > 1 else ["A"] * args.rounds
        by = dict(zip("AB", sides))
        print(f"# imap flags: SELECT + UID FETCH 1:* (FLAGS), {args.msgs} messages of {args.size} B; "
              f"order {' '.join(order)} (A={sides[0].name}"
              f"{', B=' + sides[1].name if len(sides) > 1 else ''})", flush=True)
        results = {"A": [], "B": []}
        for i, letter in enumerate(order):
            s = by[letter]
            cpu0 = s.cpu_seconds()
            warm = [select_fetch(conn[s.name], args.msgs) for _ in range(3)]
            warm_cpu = (s.cpu_seconds() - cpu0) / 3
            conn[s.name].close()
            s.restart()
            c = Imap(s.imap_port)
            c.login()
            cpu1 = s.cpu_seconds()
            cold = select_fetch(c, args.msgs)
            cold_cpu = s.cpu_seconds() - cpu1
            conn[s.name] = c
            r = {"warm_ms": median(warm) * 1000, "cold_ms": cold * 1000,
                 "warm_cpu_ms": warm_cpu * 1000, "cold_cpu_ms": cold_cpu * 1000}
            results[letter].append(r)
            print(f"round {i + 1:2d} {letter}={s.name:7s} warm {r['warm_ms']:8.1f} ms "
                  f"(CPU {r['warm_cpu_ms']:6.1f} ms)   after restart {r['cold_ms']:8.1f} ms "
                  f"(CPU {r['cold_cpu_ms']:6.1f} ms)", flush=True)
        summarize(results, sides, [("warm ms", "warm_ms", "{:.1f}"), ("warm CPU ms", "warm_cpu_ms", "{:.1f}"),
                                   ("after restart ms", "cold_ms", "{:.1f}"),
                                   ("after restart CPU ms", "cold_cpu_ms", "{:.1f}")],
                  ratio=("warm_ms", False), extra_ratio=("cold_ms", False))
        for c in conn.values():
            c.close()
    finally:
        for s in sides:
            s.stop()


# -- (c) idle TLS connections in IDLE --------------------------------------------------------

def open_idler(port):
    c = Imap(port, tls=True, timeout=300)
    c.s.sendall(f'a LOGIN {USER} "{PASSWORD}"\r\nb SELECT INBOX\r\nc IDLE\r\n'.encode())
    c.read_until(b"\r\nb OK")
    c.read_until(b"+ ")
    c.read_until(b"\r\n")
    return c


def wake_idlers(s, conns, timeout=120):
    """APPENDs one message to the INBOX every idler has selected, then waits until each
    one has its "* N EXISTS". Returns (seconds from the APPEND's OK to the last idler's
    EXISTS, the median idler's, server CPU seconds for the APPEND and every wake-up)."""
    import selectors
    plain = getattr(s, "plain", True)
    port = s.imap_port if plain else s.imaps_port
    cpu0 = s.cpu_seconds()
    append_fill(port, synthetic_messages(1), conns=1, tls=not plain)
    t_ok = time.monotonic()
    sel = selectors.DefaultSelector()
    for c in conns:
        c.s.setblocking(False)
        sel.register(c.s, selectors.EVENT_READ, c)
    lat = []
    left = len(conns)
    deadline = t_ok + timeout
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            c = key.data
            while True:
                try:
                    d = c.s.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    break
                if not d:
                    raise EOFError("an idler was closed before its EXISTS")
                c.buf += d
                if b" EXISTS\r\n" in c.buf:
                    lat.append(time.monotonic() - t_ok)
                    sel.unregister(c.s)
                    left -= 1
                    break
    sel.close()
    cpu = s.cpu_seconds() - cpu0
    if left:
        raise RuntimeError(f"{left} of {len(conns)} idlers saw no EXISTS within {timeout} s")
    return max(lat), median(lat), cpu


def bench_idle(args):
    # One descriptor per client connection (the servers, children, raise their own).
    want = max(args.conns, args.peer_conns or 0) + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))  # root may raise the hard limit
        except (ValueError, OSError) as e:
            raise SystemExit(f"cannot raise RLIMIT_NOFILE to {want}: {e}")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, want)), hard))
    users = benchlib.make_users(["imap"])
    sides = make_sides(args.sides, users, args.conns, args.peer_conns, tern_plain=False)
    order = benchlib.abba(args.rounds) if len(sides) > 1 else ["A"] * args.rounds
    by = dict(zip("AB", sides))
    print(f"# imap idle: TLS connections logged in, INBOX selected, in IDLE; tern {args.conns}"
          f"{', peer ' + str(args.peer_conns or args.conns) if any(s.name == 'dovecot' for s in sides) else ''}"
          f" connections; order {' '.join(order)} (A={sides[0].name}"
          f"{', B=' + sides[1].name if len(sides) > 1 else ''})", flush=True)
    results = {"A": [], "B": []}
    try:
        for i, letter in enumerate(order):
            s = by[letter]
            n = s.conns
            s.start()
            plain = getattr(s, "plain", True)
            append_fill(s.imap_port if plain else s.imaps_port, synthetic_messages(10), conns=1, tls=not plain)
            warm = [open_idler(s.imaps_port) for _ in range(10)]
            time.sleep(2)
            rss0, pss0 = tree_memory_kib(s.root_pids())
            t0 = time.monotonic()
            conns = []
            lock = threading.Lock()

            def one(_):
                c = open_idler(s.imaps_port)
                with lock:
                    conns.append(c)
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(one, range(n)))
            setup = time.monotonic() - t0
            time.sleep(5)
            rss1, pss1 = tree_memory_kib(s.root_pids())
            procs = len(benchlib.tree_pids(s.root_pids()))
            # One new message: every idler must see it (IDLE at this scale).
            last, mid, wake_cpu = wake_idlers(s, warm + conns)
            r = {"rss_mb": rss1 / 1024, "pss_mb": pss1 / 1024,
                 "rss_kib_conn": (rss1 - rss0) / n, "pss_kib_conn": (pss1 - pss0) / n,
                 "wake_last_ms": last * 1000, "wake_cpu_us_conn": wake_cpu * 1e6 / (n + len(warm))}
            results[letter].append(r)
            print(f"round {i + 1:2d} {letter}={s.name:7s} {n} idlers (set up in {setup:.0f} s, "
                  f"{procs} processes): RSS {rss1 / 1024:8.1f} MiB, PSS {pss1 / 1024:8.1f} MiB; "
                  f"per connection RSS {r['rss_kib_conn']:6.1f} KiB, PSS {r['pss_kib_conn']:6.1f} KiB; "
                  f"one APPEND reached every idler {last * 1000:.0f} ms after its OK (median idler "
                  f"{mid * 1000:.0f} ms), server CPU {wake_cpu * 1000:.0f} ms = "
                  f"{r['wake_cpu_us_conn']:.0f} us per idler", flush=True)
            for c in warm + conns:
                c.close()
            s.stop()
        summarize(results, sides, [("RSS MiB", "rss_mb", "{:.1f}"), ("PSS MiB", "pss_mb", "{:.1f}"),
                                   ("RSS KiB/conn", "rss_kib_conn", "{:.1f}"),
                                   ("PSS KiB/conn", "pss_kib_conn", "{:.1f}"),
                                   ("last EXISTS ms", "wake_last_ms", "{:.0f}"),
                                   ("wake CPU us/idler", "wake_cpu_us_conn", "{:.0f}")],
                  ratio=("pss_kib_conn", False))
    finally:
        for s in sides:
            s.stop()


# -- output ----------------------------------------------------------------------------------

def summarize(results, sides, columns, ratio=None, extra_ratio=None, cpu_key=None):
    print()
    print("| side | " + " | ".join(c[0] + " (median)" for c in columns) + " | rounds |")
    print("|---|" + "---|" * len(columns) + "---|")
    for letter, s in zip("AB", sides):
        rs = results[letter]
        cells = [fmt.format(median([r[key] for r in rs])) for _, key, fmt in columns]
        print(f"| {s.name} ({letter}) | " + " | ".join(cells) + f" | {len(rs)} |")
    if len(sides) < 2:
        return
    for spec in (ratio, extra_ratio):
        if not spec:
            continue
        key, higher_better = spec
        a = median([r[key] for r in results["A"]])
        b = median([r[key] for r in results["B"]])
        if higher_better:
            print(f"ratio {sides[0].name}/{sides[1].name} {key}: {a / b:.2f}" if b else "")
        else:
            print(f"ratio {sides[1].name}/{sides[0].name} {key} (how many times less): {b / a:.2f}"
                  if a else "")
    if cpu_key:
        a = median([r[cpu_key] for r in results["A"]])
        b = median([r[cpu_key] for r in results["B"]])
        print(f"CPU per operation {sides[1].name}/{sides[0].name}: {b / a:.2f}" if a else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="bench", required=True)
    a = sub.add_parser("mix", help="imaptest default workload")
    a.add_argument("--rounds", type=int, default=5, help="rounds of each side (A B B A)")
    a.add_argument("--clients", type=int, default=20)
    a.add_argument("--secs", type=int, default=30)
    a.add_argument("--msgs", type=int, default=1000, help="INBOX size (pre-filled, imaptest msgs=)")
    b = sub.add_parser("flags", help="SELECT + UID FETCH 1:* (FLAGS), warm and after a restart")
    b.add_argument("--rounds", type=int, default=5)
    b.add_argument("--msgs", type=int, default=100000)
    b.add_argument("--size", type=int, default=1024, help="octets per message")
    c = sub.add_parser("idle", help="N idle TLS connections in IDLE: RSS and PSS")
    c.add_argument("--rounds", type=int, default=1)
    c.add_argument("--conns", type=int, default=10000)
    c.add_argument("--peer-conns", type=int, default=None,
                   help="connections for the peer when it cannot hold --conns (say so in RESULTS.md)")
    for p in (a, b, c):
        p.add_argument("--sides", default="tern+peer", help="tern+peer (default), peer+tern, tern, peer, peer+peer")
    args = ap.parse_args()
    benchlib.install_signal_exit()
    {"mix": bench_mix, "flags": bench_flags, "idle": bench_idle}[args.bench](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
