"""Real peers for the outbound tests (loopback only; run with Debian's /usr/bin/python3).

    with TestDns({"remote.test": ZONE}) as dns, PostfixPeer(users=["x@remote.test"]) as pf:
        dns.port, pf.port, pf.maildir_messages("x@remote.test"), pf.stop_smtpd() ...

TestDns: a private unbound serving the zones authoritatively on 127.0.0.1:<free port>
(names outside them are REFUSED). PostfixPeer: a private Postfix instance (its own
config dir, queue and maillog under a temp dir; the system /etc/postfix untouched)
whose smtpd listens on 127.0.0.1:<free port>, offers STARTTLS with a test-made
certificate, and delivers the listed virtual users into Maildirs; other recipients
of its domain get 550 5.1.1. Every process is stopped (and killed if need be) at exit.
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


class TestDns:
    def __init__(self, zones):
        """zones: {"remote.test": "zone file text without $ORIGIN"}."""
        self.dir = tempfile.mkdtemp(prefix="tern-dns-")
        self.port = free_port()
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
                 extra_main=""):
        """submission: None, or {"port": free, "cert": (crt, key)} for an AUTH-required
        submission listener (Dovecot SASL, see SaslDovecot)."""
        self.domain = domain
        self.root = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.root, 0o755)
        self.port = free_port()
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
        self.cert, self.key = make_cert(self.etc, self.hostname)
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
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
smtpd_banner = $myhostname ESMTP
smtpd_tls_security_level = may
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
                            f"\n127.0.0.1:{self.port} inet  n       -       n       -       -       smtpd", 1)
        if submission:
            text += (f"\n127.0.0.1:{submission['port']} inet n - n - - smtpd\n"
                     + "".join(f"  -o {k}={v}\n" for k, v in submission["options"].items()))
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
        wait_port(self.port)

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
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.3):
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


def wait_for(pred, timeout=30.0, step=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError(f"timed out waiting for {what}")
