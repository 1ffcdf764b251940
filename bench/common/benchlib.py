"""Shared helpers for tern's benchmarks (run with Debian's /usr/bin/python3, as root).

Two "sides" with the same surface, so a benchmark can drive either one:

    Peers(users)     a PRIVATE Postfix 3.7 + Dovecot 2.3 under a temp dir (bench-facts.md):
                     Postfix smtpd -> qmgr -> lmtp client -> Dovecot LMTP (unix socket) ->
                     Maildir; Dovecot POP3/IMAP on loopback; passwd-file with {CRYPT}$6$.
    Tern(users)      tern-mta + tern-pop3d from build/bin on a temp data dir.

    side.start(); side.smtp_port; side.pop3_port; side.cpu_seconds(); side.stop()

cpu_seconds() is the whole server process tree's CPU (user+system), reaped children
included: for every live process in the tree utime+stime+cutime+cstime from /proc/PID/stat.
A child that exits moves its time into its parent's cutime/cstime when the parent reaps it
(Postfix's master and Dovecot's master reap their children), so the sum only grows and
a difference of two readings is the CPU spent in between.

Nothing here touches /etc/postfix or /etc/dovecot; every listener is on 127.0.0.1.
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DOMAIN = "bench.test"
PASSWORD = "benchpass"
MAIL_USER = "ternbench"          # the one system user that owns the peers' Maildir store
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- small utilities -------------------------------------------------------------------

def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open within {timeout}s")


def wait_path(path, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not appear within {timeout}s")


def sha512_crypt(password):
    """A `$6$` SHA-512 crypt hash with the default 5000 rounds (mkpasswd from `whois`)."""
    out = subprocess.run(["mkpasswd", "-m", "sha-512", password],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("$6$") and "rounds=" not in out, out
    return out


def make_users(names):
    """[(email, $6$hash)] with one fresh salt per user and the same password."""
    return [(f"{n}@{DOMAIN}", sha512_crypt(PASSWORD)) for n in names]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def _proc_table():
    """{pid: (ppid, cpu_ticks)} for every process now alive."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        # comm may contain spaces/parens: the fields start after the last ')'
        fields = data[data.rindex(")") + 2:].split()
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        table[int(name)] = (ppid, ticks)
    return table


def tree_cpu_seconds(root_pids):
    """CPU seconds of the process trees rooted at root_pids (see module comment)."""
    table = _proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, stack, ticks = set(), [p for p in root_pids if p in table], 0
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        ticks += table[pid][1]
        stack.extend(children.get(pid, []))
    return ticks / CLK_TCK


def tree_pids(root_pids):
    table = _proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [p for p in root_pids if p in table]
    while stack:
        pid = stack.pop()
        if pid in out:
            continue
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def run_smtp_source(port, count, sessions, size, rcpt, timeout=600):
    """Postfix's smtp-source: -d keeps each session open for many messages."""
    cmd = ["/usr/sbin/smtp-source", "-d", "-m", str(count), "-s", str(sessions),
           "-l", str(size), "-f", f"sender@{DOMAIN}", "-t", rcpt, f"127.0.0.1:{port}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"smtp-source failed ({p.returncode}): {p.stdout}{p.stderr}")
    return p


def pop3_stat(port, user, password, timeout=10.0):
    """(count, octets) via a plain USER/PASS/STAT/QUIT session."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rwb")

        def cmd(line):
            if line is not None:
                f.write(line.encode() + b"\r\n")
                f.flush()
            reply = f.readline().decode(errors="replace").strip()
            if not reply.startswith("+OK"):
                raise RuntimeError(f"POP3 {line!r}: {reply}")
            return reply
        cmd(None)
        cmd(f"USER {user}")
        cmd(f"PASS {password}")
        parts = cmd("STAT").split()
        cmd("QUIT")
        return int(parts[1]), int(parts[2])


# -- the peers: private Postfix + Dovecot -------------------------------------------------

def ensure_mail_user():
    """The one system user owning the peers' Maildir store; created once if missing."""
    import pwd
    try:
        pw = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                        MAIL_USER], check=True)
        pw = pwd.getpwnam(MAIL_USER)
    return pw.pw_uid, pw.pw_gid


DOVECOT_CONF = """\
# Private Dovecot 2.3 for tern's benchmarks. Shipped defaults apart from the plumbing
# listed in bench-facts.md (ports, paths, limits that would stall the load).
base_dir = {root}/dovecot/run
state_dir = {root}/dovecot/state
instance_name = tern-bench-{port_pop3}
log_path = {root}/dovecot/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
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
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port_imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port_pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service stats {{
  client_limit = 4096
}}
service imap {{
  process_limit = 4096
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
protocol pop3 {{
  mail_max_userip_connections = 1000
}}
"""


class Peers:
    name = "peer"

    def __init__(self, users):
        self.users = users          # [(email, $6$hash)]
        self.root = None
        self.smtp_port = self.pop3_port = self.imap_port = None

    # paths
    def maildir(self, email):
        local, domain = email.split("@")
        return os.path.join(self.root, "mail", domain, local, "Maildir")

    def start(self):
        uid, gid = ensure_mail_user()
        self.root = tempfile.mkdtemp(prefix="tern-bench-peers-")
        os.chmod(self.root, 0o755)  # postfix (lmtp client) and the mail user walk through it
        self.smtp_port, self.pop3_port, self.imap_port = free_port(), free_port(), free_port()
        self._start_dovecot(uid, gid)
        self._start_postfix()
        return self

    def _start_dovecot(self, uid, gid):
        d = os.path.join(self.root, "dovecot")
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(d, 0o755)
        mail = os.path.join(self.root, "mail")
        os.makedirs(mail)
        os.chown(mail, uid, gid)
        with open(os.path.join(d, "users"), "w") as f:
            for email, h in self.users:
                local, domain = email.split("@")
                home = os.path.join(mail, domain, local)
                f.write(f"{email}:{{CRYPT}}{h}:{uid}:{gid}::{home}::\n")
        import grp
        os.chown(os.path.join(d, "users"), 0, grp.getgrnam("dovecot").gr_gid)
        os.chmod(os.path.join(d, "users"), 0o640)   # read by the auth process (dovecot)
        self.dovecot_conf = os.path.join(d, "dovecot.conf")
        with open(self.dovecot_conf, "w") as f:
            f.write(DOVECOT_CONF.format(root=self.root, uid=uid, port_pop3=self.pop3_port,
                                        port_imap=self.imap_port))
        subprocess.run(["dovecot", "-c", self.dovecot_conf], check=True)
        self.lmtp_socket = os.path.join(d, "run", "lmtp")
        wait_path(self.lmtp_socket)
        wait_port(self.pop3_port)
        wait_port(self.imap_port)

    def _start_postfix(self):
        p = os.path.join(self.root, "postfix")
        self.postfix_dir = os.path.join(p, "etc")
        os.makedirs(self.postfix_dir)
        os.makedirs(os.path.join(p, "data"))
        import pwd
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(p, "data"), pf.pw_uid, pf.pw_gid)
        os.makedirs(os.path.join(p, "spool"))
        shutil.copy("/etc/postfix/master.cf", self.postfix_dir)
        for name in ("dynamicmaps.cf", "postfix-files"):
            shutil.copy(os.path.join("/etc/postfix", name), self.postfix_dir)
        shutil.copytree("/etc/postfix/dynamicmaps.cf.d",
                        os.path.join(self.postfix_dir, "dynamicmaps.cf.d"))
        shutil.copytree("/etc/postfix/postfix-files.d",
                        os.path.join(self.postfix_dir, "postfix-files.d"))
        with open(os.path.join(self.postfix_dir, "main.cf"), "w") as f:
            f.write(f"""\
# Private Postfix 3.7 for tern's benchmarks: shipped defaults apart from plumbing.
compatibility_level = 3.6
queue_directory = {p}/spool
data_directory = {p}/data
meta_directory = {self.postfix_dir}
maillog_file = {p}/postfix.log
maillog_file_prefixes = {p}
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination = {DOMAIN}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
local_transport = lmtp:unix:{self.lmtp_socket}
smtpd_banner = $myhostname ESMTP
biff = no
""")
        # the MX listener on our port; no chroot: a private queue dir has no jail
        master = os.path.join(self.postfix_dir, "master.cf")
        with open(master) as f:
            text = f.read()
        text = text.replace("\nsmtp      inet  n       -       y       -       -       smtpd",
                            f"\n127.0.0.1:{self.smtp_port} inet  n       -       n       -       -       smtpd", 1)
        with open(master, "w") as f:
            f.write(text)
        subprocess.run(["postconf", "-c", self.postfix_dir, "-F", "*/*/chroot = n"], check=True)
        env = dict(os.environ, MAIL_CONFIG=self.postfix_dir)
        # postfix(1) reports to stderr only on a tty; `script` gives it one for the error text
        r = subprocess.run(["script", "-qec", f"postfix -c {self.postfix_dir} start", "/dev/null"],
                           env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stdout}{r.stderr}")
        wait_port(self.smtp_port)

    def root_pids(self):
        pids = []
        for path in (os.path.join(self.root, "postfix", "spool", "pid", "master.pid"),
                     os.path.join(self.root, "dovecot", "run", "master.pid")):
            try:
                with open(path) as f:
                    pids.append(int(f.read().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        return pids

    def cpu_seconds(self):
        return tree_cpu_seconds(self.root_pids())

    def maildir_messages(self, email):
        """The stored messages' bytes, in file-name order, LF turned into CRLF (the form
        Dovecot's POP3 serves them in)."""
        md = self.maildir(email)
        files = sorted(os.path.join(md, sub, f) for sub in ("new", "cur")
                       for f in os.listdir(os.path.join(md, sub)))
        out = []
        for path in files:
            with open(path, "rb") as f:
                out.append(f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        return out

    def mailbox_count(self, email):
        """Messages in the Maildir (new + cur), as the mail user would see them."""
        md = self.maildir(email)
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(md, sub)))
            except FileNotFoundError:
                pass
        return n

    def stop(self):
        if self.root is None:
            return
        pids = tree_pids(self.root_pids())
        if os.path.isdir(getattr(self, "postfix_dir", "")):
            subprocess.run(["postfix", "-c", self.postfix_dir, "stop"],
                           capture_output=True, env=dict(os.environ, MAIL_CONFIG=self.postfix_dir))
        if os.path.exists(getattr(self, "dovecot_conf", "")):
            subprocess.run(["doveadm", "-c", self.dovecot_conf, "stop"], capture_output=True)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        for p in pids:
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if os.environ.get("TERN_BENCH_KEEP") == "1":
            log(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


# -- tern --------------------------------------------------------------------------------

class Tern:
    name = "tern"

    def __init__(self, users, daemons=("tern-mta", "tern-pop3d")):
        self.users = users
        self.daemons = daemons
        self.bin_dir = Tern.bin_dir(daemons)
        self.root = None
        self.procs = []

    @staticmethod
    def bin_dir(daemons=("tern-mta", "tern-pop3d")):
        """$TERN_BIN, else build/bin, else build-bench/bin: the first holding every binary."""
        dirs = [os.environ["TERN_BIN"]] if os.environ.get("TERN_BIN") else [
            os.path.join(SRC, "build", "bin"), os.path.join(SRC, "build-bench", "bin")]
        for b in dirs:
            if all(os.access(os.path.join(b, n), os.X_OK) for n in (*daemons, "ternctl")):
                return b
        return None

    @staticmethod
    def available(daemons=("tern-mta", "tern-pop3d")):
        return Tern.bin_dir(daemons) is not None

    def ctl(self, *args):
        p = subprocess.run([os.path.join(self.bin_dir, "ternctl"), "--config", self.config,
                            *args], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"ternctl {' '.join(args)}: {p.returncode} {p.stdout}{p.stderr}")
        return p.stdout

    def start(self):
        daemons = self.daemons
        self.root = tempfile.mkdtemp(prefix="tern-bench-tern-")
        self.smtp_port, self.pop3_port = free_port(), free_port()
        self.config = os.path.join(self.root, "tern.toml")
        with open(self.config, "w") as f:
            # connections_per_ip: plumbing like the peers' mail_max_userip_connections
            f.write(f"""hostname = "mx.{DOMAIN}"
data_dir = "{self.root}/var"

[smtp]
listen = ["127.0.0.1:{self.smtp_port}"]

[pop3]
listen = ["127.0.0.1:{self.pop3_port}"]
allow_plaintext_auth = true   # the peer allows plaintext logins on loopback too

[limits]
connections_per_ip = 1000
""")
        self.ctl("init")
        self.ctl("domain", "add", DOMAIN)
        for email, h in self.users:
            self.ctl("user", "add", email, "--password-hash", h)
        for d in daemons:
            logf = open(os.path.join(self.root, d + ".log"), "ab")
            p = subprocess.Popen([os.path.join(self.bin_dir, d), "--config", self.config],
                                 stdout=logf, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=self.root)
            self.procs.append(p)
        if "tern-mta" in daemons:
            wait_port(self.smtp_port)
        if "tern-pop3d" in daemons:
            wait_port(self.pop3_port)
        return self

    def deliver_file(self, email, data):
        """Store one message as given through the store API (pop3d's test tool tern-deliver)."""
        p = subprocess.run([os.path.join(self.bin_dir, "tern-deliver"), "--config",
                            self.config, email], input=data, capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"tern-deliver {email}: {p.returncode} {p.stdout}{p.stderr}")

    def root_pids(self):
        return [p.pid for p in self.procs if p.poll() is None]

    def cpu_seconds(self):
        return tree_cpu_seconds(self.root_pids())

    def mailbox_count(self, email):
        """Messages in the account, read from the store by `ternctl user list DOMAIN`
        (its own process: costs tern's daemons nothing)."""
        domain = email.split("@")[1]
        for line in self.ctl("user", "list", domain).splitlines():
            fields = line.split()
            if fields and fields[0] == email:
                for f in fields[1:]:
                    if f.startswith("messages="):
                        return int(f.split("=")[1])
        raise RuntimeError(f"ternctl user list {domain}: no messages= for {email}")

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []
        if self.root:
            if os.environ.get("TERN_BENCH_KEEP") == "1":
                log(f"kept {self.root}")
            else:
                shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def install_signal_exit():
    """Turn SIGTERM/SIGHUP into SystemExit so `finally:` blocks stop every server."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def abba(n_each):
    """A B B A A B B A ... with n_each of each letter."""
    return (["A", "B", "B", "A"] * n_each)[: 2 * n_each]
