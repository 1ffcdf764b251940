"""tern's MIME parser beside Dovecot 2.3 (Debian) on the corpus in tests/data/mime.

A private Dovecot (temp dir, own config, loopback port, passwd-file auth, Maildir)
receives every corpus message by IMAP APPEND; FETCH (ENVELOPE BODYSTRUCTURE BODY) from
it, parsed into nested lists, is compared with what tern-mime-dump prints for the same
file (the functions tern-imapd calls). Differences must be listed in KNOWN_DIFFERENCES
with a written reason; an unlisted difference, or a listed one that disappeared, fails.

Run: python3 tests/integration/test_mime_dovecot.py   (TERN_BIN=build/bin)
Needs root (Dovecot's master) or skips; no network beyond 127.0.0.1.
"""
import glob
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, SRC, free_port, wait_port  # noqa: E402

CORPUS = os.path.join(SRC, "tests", "data", "mime")

# (message file, item) -> reason. Item is ENVELOPE, BODYSTRUCTURE or BODY.
KNOWN_DIFFERENCES = {
    ("14-bad-content-type.eml", "BODYSTRUCTURE"):
        "Content-Type: garbage (no subtype). RFC 2045 5.2 recommends treating a syntactically "
        "invalid Content-Type as text/plain; charset=us-ascii, so tern answers \"text\" "
        "\"plain\" with a line count; Dovecot shows the broken value as type \"garbage\" "
        "with an empty subtype, which clients cannot display as text.",
    ("14-bad-content-type.eml", "BODY"): "the same as its BODYSTRUCTURE",
}

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = tern-mime-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


# ---------------------------------------------------------------- IMAP s-expressions
class Lit(bytes):
    """A string value (quoted or literal: the same to the comparison)."""


def parse_sexp(data, i=0):
    """Parses one IMAP value at data[i:]: list, string, literal, NIL, atom/number.
    Returns (value, next index). Strings become Lit, NIL None, atoms bytes."""
    while data[i:i + 1] == b" ":
        i += 1
    c = data[i:i + 1]
    if c == b"(":
        i += 1
        out = []
        while True:
            while data[i:i + 1] == b" ":
                i += 1
            if data[i:i + 1] == b")":
                return out, i + 1
            v, i = parse_sexp(data, i)
            out.append(v)
    if c == b'"':
        i += 1
        s = bytearray()
        while data[i:i + 1] != b'"':
            if data[i:i + 1] == b"\\":
                i += 1
            s += data[i:i + 1]
            i += 1
        return Lit(bytes(s)), i + 1
    if c == b"{":
        j = data.index(b"}", i)
        n = int(data[i + 1:j])
        start = j + 3  # "}\r\n"
        return Lit(data[start:start + n]), start + n
    j = i
    while j < len(data) and data[j:j + 1] not in (b" ", b"(", b")"):
        j += 1
    atom = data[i:j]
    return (None if atom.upper() == b"NIL" else atom), j


def fetch_items(wire):
    """'1 (ENVELOPE (...) BODYSTRUCTURE (...) BODY (...))' → {name: value}."""
    i = wire.index(b"(")
    lst, _ = parse_sexp(wire, i)
    return {lst[k].upper().decode(): lst[k + 1] for k in range(0, len(lst), 2)}


def raw_response(data):
    """imaplib's FETCH data (bytes and (prefix, literal) tuples) back into wire bytes."""
    out = b""
    for part in data:
        if isinstance(part, tuple):
            out += part[0] + b"\r\n" + part[1]
        else:
            out += part
    return out


# ---------------------------------------------------------------- the two sides
def tern_side(path):
    r = subprocess.run([os.path.join(BIN, "tern-mime-dump"), path], capture_output=True, check=True)
    out = r.stdout
    items = {}
    for name in ("ENVELOPE", "BODYSTRUCTURE", "BODY"):
        key = b"\n" + name.encode() + b" "
        i = out.index(key) + len(key)
        items[name], _ = parse_sexp(out, i)
    return items


class Dovecot:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="tern-mime-dovecot-")
        os.chmod(self.root, 0o755)
        self.port = free_port()
        pw = pwd.getpwnam("nobody")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.root, sub))
        home = os.path.join(self.root, "home", "u")
        os.makedirs(home)
        os.chown(home, self.uid, self.gid)
        with open(os.path.join(self.root, "users"), "w") as f:
            f.write(f"u@example.test:{{PLAIN}}pw:{self.uid}:{self.gid}::{home}::\n")
        os.chmod(os.path.join(self.root, "users"), 0o644)
        self.conf = os.path.join(self.root, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(root=self.root, uid=self.uid, port=self.port))
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        wait_port(self.port)

    def stop(self):
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True)
        pidf = os.path.join(self.root, "run", "master.pid")
        deadline = time.time() + 10
        while os.path.exists(pidf) and time.time() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def main():
    if os.geteuid() != 0 or not shutil.which("dovecot"):
        print("SKIP: needs root and Debian's dovecot-imapd")
        return 0
    files = sorted(glob.glob(os.path.join(CORPUS, "*.eml")))
    assert len(files) >= 20, files
    dc = Dovecot()
    try:
        imap = imaplib.IMAP4("127.0.0.1", dc.port)
        imap.login("u@example.test", "pw")
        for path in files:
            with open(path, "rb") as f:
                typ, _ = imap.append("INBOX", None, None, f.read())
            assert typ == "OK", path
        imap.select("INBOX", readonly=True)
        dovecot = {}
        for n, path in enumerate(files, start=1):
            typ, data = imap.fetch(str(n), "(ENVELOPE BODYSTRUCTURE BODY)")
            assert typ == "OK"
            dovecot[path] = fetch_items(raw_response(data))
        imap.logout()
    finally:
        dc.stop()

    identical = 0
    failures = []
    seen_known = set()
    for path in files:
        name = os.path.basename(path)
        mine = tern_side(path)
        same = True
        for item in ("ENVELOPE", "BODYSTRUCTURE", "BODY"):
            theirs = dovecot[path][item]
            if mine[item] == theirs:
                continue
            same = False
            key = (name, item)
            if key in KNOWN_DIFFERENCES:
                seen_known.add(key)
                continue
            failures.append(f"{name} {item}:\n  tern:    {mine[item]!r}\n  dovecot: {theirs!r}")
        identical += same
    stale = set(KNOWN_DIFFERENCES) - seen_known
    print(f"{len(files)} messages, {identical} identical in ENVELOPE, BODYSTRUCTURE and BODY; "
          f"{len(seen_known)} known differences")
    for key in sorted(seen_known):
        print(f"  known: {key[0]} {key[1]}: {KNOWN_DIFFERENCES[key]}")
    for f in failures:
        print("DIFF " + f)
    for key in sorted(stale):
        print(f"STALE known difference (now identical): {key}")
    return 1 if failures or stale else 0


if __name__ == "__main__":
    sys.exit(main())
