"""Real peers for the outbound tests (loopback only; run with Debian's /usr/bin/python3).

    with TestDns({"remote.test": ZONE}) as dns, PostfixPeer(users=["x@remote.test"]) as pf:
        dns.port, pf.port, pf.maildir_messages("x@remote.test"), pf.stop_smtpd() ...

TestDns: a private unbound serving the zones authoritatively on 127.0.0.1:<free port>
(names outside them are REFUSED). PostfixPeer: a private Postfix instance (its own
config dir, queue and maillog under a temp dir; the system /etc/postfix untouched)
whose smtpd listens on 127.0.0.1:<free port>, offers STARTTLS with a test-made
certificate, and delivers the listed virtual users into Maildirs; other recipients
of its domain get 550 5.1.1. SaslDovecot: a private Dovecot that only authenticates
(passwd-file), for a Postfix submission listener with smtpd_sasl_type = dovecot.
PySmtpPeer: a scripted SMTP server in the test process (STARTTLS reply injection, hooks
at chosen moments of a transaction). Every process is stopped (and killed if need be)
at exit.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ternlib import free_port, wait_port


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def make_cert(directory, name, ca=None):
    """A key + certificate for `name` (SAN DNS:name) in directory; self-signed, or
    signed by ca=(ca_cert, ca_key). Returns (cert, key)."""
    key = os.path.join(directory, f"{name}.key")
    cert = os.path.join(directory, f"{name}.crt")
    subprocess.run(["openssl", "req", "-x509" if ca is None else "-new", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-days", "2"] + (["-out", cert] if ca is None else ["-out", cert + ".csr"]),
                   check=True, capture_output=True)
    if ca is not None:
        ext = os.path.join(directory, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{name}\n")
        subprocess.run(["openssl", "x509", "-req", "-in", cert + ".csr", "-CA", ca[0], "-CAkey", ca[1],
                        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                       check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def make_ca(directory):
    key = os.path.join(directory, "ca.key")
    cert = os.path.join(directory, "ca.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=tern test CA", "-days", "2",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    return cert, key


def zone_txt(name, value):
    """A zone-file TXT line whose value is split into 255-octet character-strings."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return f"{name} IN TXT " + " ".join('"' + p.replace('"', '\\"') + '"' for p in parts) + "\n"


class TestDns:
    def __init__(self, zones, port=None):
        """zones: {"remote.test": "zone file text without $ORIGIN"}; port: a port
        reserved earlier (free_port()) when the config naming it is written first."""
        self.dir = tempfile.mkdtemp(prefix="tern-dns-")
        self.port = port or free_port()
        lines = ["server:", f"  interface: 127.0.0.1@{self.port}", "  do-daemonize: no",
                 '  username: ""', '  chroot: ""', f'  directory: "{self.dir}"', '  pidfile: ""',
                 "  use-syslog: no", f'  logfile: "{self.dir}/unbound.log"',
                 '  module-config: "iterator"', "  do-not-query-localhost: no",
                 "  access-control: 127.0.0.0/8 allow", "  num-threads: 1",
                 '  local-zone: "test." nodefault', '  local-zone: "." refuse']
        for z in zones:
            lines.append(f'  local-zone: "{z}." transparent')
        for i, (z, text) in enumerate(zones.items()):
            path = os.path.join(self.dir, f"zone{i}")
            with open(path, "w") as f:
                f.write(f"$ORIGIN {z}.\n$TTL 60\n"
                        f"@ IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 60\n@ IN NS ns.{z}.\n"
                        f"ns IN A 127.0.0.1\n" + text)
            lines += ["auth-zone:", f'  name: "{z}."', f'  zonefile: "{path}"',
                      "  for-downstream: yes", "  for-upstream: no", "  fallback-enabled: no"]
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        wait_port(self.port, proc=self.proc)

    def txt(self, name):
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = self.port
        return [b"".join(rr.strings).decode() for rr in r.resolve(name, "TXT")]

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if os.environ.get("TERN_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PostfixPeer:
    def __init__(self, domain="remote.test", users=(), hostname=None, submission=None,
                 extra_main="", address="127.0.0.1", cert=None, tls=True, port=None):
        """submission: None, or {"port": free, "options": {...}} (or a list of them):
        extra smtpd listeners on `address` (e.g. AUTH-required submission with Dovecot
        SASL, see SaslDovecot). address: "127.0.0.1" or "::1". cert: (crt, key) instead
        of a self-signed certificate for the host name; tls=False: no STARTTLS at all."""
        self.domain = domain
        self.root = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.root, 0o755)
        self.address = address
        self.port = port or free_port()
        self.hostname = hostname or f"mx.{domain}"
        p = self.root
        self.etc = os.path.join(p, "etc")
        os.makedirs(self.etc)
        pf = pwd.getpwnam("postfix")
        for d in ("data", "spool"):
            os.makedirs(os.path.join(p, d))
        os.chown(os.path.join(p, "data"), pf.pw_uid, pf.pw_gid)
        self.mail = os.path.join(p, "mail")
        os.makedirs(self.mail)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        shutil.copy("/etc/postfix/master.cf", self.etc)
        for name in ("dynamicmaps.cf", "postfix-files"):
            shutil.copy(os.path.join("/etc/postfix", name), self.etc)
        for name in ("dynamicmaps.cf.d", "postfix-files.d"):
            shutil.copytree(os.path.join("/etc/postfix", name), os.path.join(self.etc, name))
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                f.write(f"{u} {domain}/{u.split('@')[0]}/\n")
        self.cert, self.key = cert if cert else make_cert(self.etc, self.hostname)
        v6 = ":" in address
        listen = f"[{address}]" if v6 else address
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""\
compatibility_level = 3.6
queue_directory = {p}/spool
data_directory = {p}/data
meta_directory = {self.etc}
maillog_file = {p}/postfix.log
maillog_file_prefixes = {p}
myhostname = {self.hostname}
mydomain = {domain}
mydestination =
inet_interfaces = {listen}
inet_protocols = {"ipv6" if v6 else "ipv4"}
mynetworks = {"[::1]/128" if v6 else "127.0.0.0/8"}
local_header_rewrite_clients =
alias_maps =
alias_database =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
smtpd_banner = $myhostname ESMTP
smtpd_tls_security_level = {"may" if tls else "none"}
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
smtpd_tls_received_header = yes
biff = no
{extra_main}
""")
        master = os.path.join(self.etc, "master.cf")
        with open(master) as f:
            text = f.read()
        text = text.replace("\nsmtp      inet  n       -       y       -       -       smtpd",
                            f"\n{listen}:{self.port} inet  n       -       n       -       -       smtpd", 1)
        for sub in (submission if isinstance(submission, list) else [submission] if submission else []):
            text += (f"\n{listen}:{sub['port']} inet n - n - - smtpd\n"
                     + "".join(f"  -o {k}={v}\n" for k, v in sub["options"].items()))
        with open(master, "w") as f:
            f.write(text)
        subprocess.run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], check=True)
        self.start()

    def _postfix(self, verb):
        env = dict(os.environ, MAIL_CONFIG=self.etc)
        return subprocess.run(["script", "-qec", f"postfix -c {self.etc} {verb}", "/dev/null"],
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def start(self):
        r = self._postfix("start")
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stdout}{r.stderr}")
        wait_port(self.port, host=self.address)

    def master_pid(self):
        try:
            with open(os.path.join(self.root, "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        pid = self.master_pid()
        self._postfix("stop")
        deadline = time.time() + 10
        while pid and time.time() < deadline and _alive(pid):
            time.sleep(0.1)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        # wait until the port is closed
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection((self.address, self.port), timeout=0.3):
                    time.sleep(0.1)
            except OSError:
                break

    def maildir_messages(self, user):
        md = os.path.join(self.mail, self.domain, user.split("@")[0])
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def log(self):
        try:
            with open(os.path.join(self.root, "postfix.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        self.stop()
        if os.environ.get("TERN_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def submit_many(env, user, password, messages):
    """Send [(recipients, message bytes)] over one submission session (port 587,
    STARTTLS, AUTH as user), each in its own transaction, from `user`."""
    import smtplib
    from ternlib import client_tls_context
    with smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20) as s:
        s.starttls(context=client_tls_context())
        s.login(user, password)
        for rcpts, msg in messages:
            s.sendmail(user, rcpts, msg)


def wait_for(pred, timeout=30.0, step=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError(f"timed out waiting for {what}")


class SaslDovecot:
    """A private Dovecot that only authenticates (no mail protocols): a passwd-file with
    `users` {"name": "password"} and an auth socket for Postfix (smtpd_sasl_type =
    dovecot, smtpd_sasl_path = self.socket), mechanisms PLAIN and LOGIN."""

    def __init__(self, users):
        self.root = tempfile.mkdtemp(prefix="tern-dovecot-sasl-")
        os.chmod(self.root, 0o755)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.root, sub))
        self.socket = os.path.join(self.root, "auth-client")
        self.passwd = os.path.join(self.root, "passwd")
        with open(self.passwd, "w") as f:
            for u, pw in users.items():
                f.write(f"{u}:{{PLAIN}}{pw}::::::\n")
        os.chmod(os.path.join(self.root, "passwd"), 0o644)
        self.conf = os.path.join(self.root, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""\
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = tern-sasl-{os.path.basename(self.root)}
log_path = {self.root}/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
}}
""")
        # No pipes: the daemon would hold them open and run() would never return.
        subprocess.run(["dovecot", "-c", self.conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.socket), timeout=20, what="dovecot auth socket")

    def log(self):
        try:
            with open(os.path.join(self.root, "dovecot.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        pidf = os.path.join(self.root, "run", "master.pid")
        pid = None
        try:
            with open(pidf) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        deadline = time.time() + 10
        while pid and _alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        if os.environ.get("TERN_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PySmtpPeer:
    """A scripted SMTP server in the test process (one thread per connection), for
    what a real MTA cannot be told to do at a precise moment.

        peer = PySmtpPeer(tls=(crt, key), inject=b"250 injected\\r\\n", hook=fn)
        peer.port, peer.messages ([{"mail", "rcpts", "data", "tls"}]), peer.commands,
        peer.max_open (the most connections open at once)

    - EHLO offers SIZE, 8BITMIME (and STARTTLS when tls is given; PIPELINING when
      pipelining=True; DSN when dsn=True); no CHUNKING, so bodies come with DATA.
    - rcpt_reply: when set (bytes), the reply every RCPT gets instead of 250; may be
      changed while the peer runs. data_reply: likewise for the end of a message's
      data (the message is then not recorded).
    - inject: bytes written in the SAME write as the 220 reply to STARTTLS (the
      CVE-2011-0411 response-injection class), before the handshake.
    - hold = True: every new connection gets "421 4.3.2 try later" at once.
    - hook(point, info) runs in the connection's thread at "data" (the DATA command
      read, 354 not yet sent), "before_250" (the body read, not yet accepted or
      recorded) and "after_250" (recorded, the final 250 written); its return value
      "drop" closes the connection there.
    """

    def __init__(self, host="127.0.0.1", tls=None, inject=b"", hook=None, pipelining=False,
                 name="peer.remote.test", port=0, dsn=False):
        import threading
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(self.family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind((host, port))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.tls, self.inject, self.hook, self.pipelining, self.name = tls, inject, hook, pipelining, name
        self.dsn = dsn
        self.rcpt_reply = None
        self.data_reply = None
        self.hold = False
        self.messages = []
        self.commands = []   # (connection number, command line as text)
        self.violations = []  # protocol errors the client made
        self.connections = 0
        self.open_now = 0    # connections open at this moment
        self.max_open = 0    # the most that were open at once
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import threading
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve_safe, args=(conn, n), daemon=True).start()

    def _serve_safe(self, conn, n):
        with self.lock:
            self.open_now += 1
            self.max_open = max(self.max_open, self.open_now)
        try:
            self._serve(conn, n)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            with self.lock:
                self.open_now -= 1
            try:
                conn.close()
            except OSError:
                pass

    def _serve(self, conn, n):
        import ssl
        conn.settimeout(60)
        buf = bytearray()
        stream = conn

        def readline():
            while b"\r\n" not in buf:
                d = stream.recv(65536)
                if not d:
                    raise EOFError
                buf.extend(d)
            i = buf.index(b"\r\n")
            line = bytes(buf[:i])
            del buf[:i + 2]
            return line

        def send(b):
            stream.sendall(b)

        if self.hold:
            send(b"421 4.3.2 try later\r\n")
            return
        send(f"220 {self.name} ESMTP scripted\r\n".encode())
        tls_version = None
        mail, rcpts = None, []
        while True:
            line = readline()
            text = line.decode("utf-8", "replace")
            with self.lock:
                self.commands.append((n, text))
            verb = text.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                ext = ["SIZE 10240000", "8BITMIME"]
                if self.pipelining:
                    ext.append("PIPELINING")
                if self.dsn:
                    ext.append("DSN")
                if self.tls and tls_version is None:
                    ext.append("STARTTLS")
                lines = [self.name] + ext
                send("".join(f"250{'-' if i < len(lines) - 1 else ' '}{l}\r\n"
                             for i, l in enumerate(lines)).encode())
            elif verb == "STARTTLS" and self.tls and tls_version is None:
                if buf:
                    with self.lock:
                        self.violations.append(f"client pipelined after STARTTLS: {bytes(buf)!r}")
                send(b"220 2.0.0 ready\r\n" + self.inject)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.tls[0], self.tls[1])
                stream = ctx.wrap_socket(conn, server_side=True)
                tls_version = stream.version()
                buf.clear()
                mail, rcpts = None, []
            elif verb == "MAIL":
                mail, rcpts = text[10:].split(">", 1)[0].lstrip("<"), []
                send(b"250 2.1.0 ok\r\n")
            elif verb == "RCPT":
                if mail is None:
                    send(b"503 5.5.1 MAIL first\r\n")
                    continue
                if self.rcpt_reply is not None:
                    send(self.rcpt_reply)
                    continue
                rcpts.append(text[8:].split(">", 1)[0].lstrip("<"))
                send(b"250 2.1.5 ok\r\n")
            elif verb == "DATA":
                if not rcpts:
                    send(b"554 5.5.1 no valid recipients\r\n")
                    continue
                if self.hook and self.hook("data", {"mail": mail, "rcpts": rcpts, "conn": n}) == "drop":
                    return
                send(b"354 go ahead\r\n")
                data = bytearray()
                while True:
                    l = readline()
                    if l == b".":
                        break
                    data.extend((l[1:] if l.startswith(b".") else l) + b"\r\n")
                msg = {"mail": mail, "rcpts": rcpts, "data": bytes(data), "tls": tls_version, "conn": n}
                if self.hook and self.hook("before_250", msg) == "drop":
                    return
                if self.data_reply is not None:
                    send(self.data_reply)
                    mail, rcpts = None, []
                    continue
                with self.lock:
                    self.messages.append(msg)
                send(b"250 2.0.0 ok: queued\r\n")
                mail, rcpts = None, []
                if self.hook and self.hook("after_250", msg) == "drop":
                    return
            elif verb == "RSET":
                mail, rcpts = None, []
                send(b"250 2.0.0 ok\r\n")
            elif verb == "NOOP":
                send(b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                send(b"221 2.0.0 bye\r\n")
                return
            else:
                send(b"502 5.5.2 unknown command\r\n")

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
