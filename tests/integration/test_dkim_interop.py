"""DKIM cross-check with python3-dkim, both directions, over a corpus with folded
headers, trailing whitespace, an empty body, l= and an 8-bit body; rsa-sha256 and
ed25519-sha256; every canonicalisation. tern signs → dkimpy verifies; dkimpy signs →
tern verifies (build/bin/tern-dkim-tool). Tampered copies must fail both ways."""
import base64
import os
import subprocess
import sys
import tempfile

import dkim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, run_tests  # noqa: E402

TOOL = os.path.join(BIN, "tern-dkim-tool")
WORK = tempfile.mkdtemp(prefix="tern-dkim-")
CANONS = ["simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed"]

CORPUS = {
    "plain": b"From: A <a@example.com>\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n",
    "folded": (b"From: A\r\n <a@example.com>\r\nTo: b@example.net,\r\n\tc@example.net\r\n"
               b"Subject: a long\r\n  folded   subject\r\n\r\nbody\r\n"),
    "trailing-ws": (b"From: a@example.com \r\nSubject:  spaces\t \r\nTo: b@example.net\r\n\r\n"
                    b"line with trailing spaces   \r\n\t\r\n  indented\t\tline \r\n\r\n\r\n"),
    "empty-body": b"From: a@example.com\r\nTo: b@example.net\r\nSubject: empty\r\n\r\n",
    "8bit": ("From: Jörg <a@example.com>\r\nTo: b@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             "Grüße, café — ∑ 8-bit body\r\n").encode(),
}


def sh(args, data=None):
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def keys():
    rsa_pem = sh(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    rsa_der = sh(["openssl", "pkey", "-pubout", "-outform", "DER"], rsa_pem)
    ed_pem = sh(["openssl", "genpkey", "-algorithm", "ed25519"])
    ed_seed = base64.b64encode(sh(["openssl", "pkey", "-outform", "DER"], ed_pem)[-32:])
    ed_pub = base64.b64encode(sh(["openssl", "pkey", "-pubout", "-outform", "DER"], ed_pem)[-32:])
    return {
        "rsa": (rsa_pem, rsa_pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_der).decode()),
        "ed25519": (ed_pem, ed_seed, "v=DKIM1; k=ed25519; p=" + ed_pub.decode()),
    }


KEYS = keys()
DNS = {f"{a}._domainkey.example.com.": KEYS[a][2] for a in KEYS}
DNSFILE = os.path.join(WORK, "dns.txt")
with open(DNSFILE, "w") as f:
    for a in KEYS:
        f.write(f"{a}._domainkey.example.com\t{KEYS[a][2]}\n")
PEMS = {}
for a in KEYS:
    PEMS[a] = os.path.join(WORK, a + ".pem")
    with open(PEMS[a], "wb") as f:
        f.write(KEYS[a][0])


def dnsfunc(name, timeout=5):
    return DNS.get(name.decode(), "").encode()


def tern_sign(msg, algo, canon, length=None):
    args = [TOOL, "sign", PEMS[algo], "example.com", algo, canon] + ([str(length)] if length is not None else [])
    return sh(args, msg)


def tern_verify(msg):
    return [line.split(" ", 3) for line in sh([TOOL, "verify", DNSFILE], msg).decode().splitlines()]


def tamper(msg):
    head, _, body = msg.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + body + b"tampered\r\n"


def test_tern_signs_dkimpy_verifies():
    n = 0
    for name, msg in CORPUS.items():
        for algo in KEYS:
            for canon in CANONS:
                signed = tern_sign(msg, algo, canon)
                assert dkim.verify(signed, dnsfunc=dnsfunc), (name, algo, canon, signed[:400])
                assert not dkim.verify(tamper(signed), dnsfunc=dnsfunc), (name, algo, canon)
                n += 1
    print(f"  {n} tern signatures verified by dkimpy")


def test_dkimpy_signs_tern_verifies():
    n = 0
    for name, msg in CORPUS.items():
        for algo in KEYS:
            for canon in CANONS:
                hc, bc = canon.split("/")
                sig = dkim.sign(msg, algo.encode(), b"example.com", KEYS[algo][1],
                                canonicalize=(hc.encode(), bc.encode()),
                                signature_algorithm=b"ed25519-sha256" if algo == "ed25519" else b"rsa-sha256")
                res = tern_verify(sig + msg)
                assert [r[0] for r in res] == ["pass"], (name, algo, canon, res)
                assert [r[0] for r in tern_verify(tamper(sig + msg))] == ["fail"], (name, algo, canon)
                n += 1
    print(f"  {n} dkimpy signatures verified by tern")


def test_body_length_both_ways():
    msg = CORPUS["plain"]
    for algo in KEYS:
        signed = tern_sign(msg, algo, "relaxed/relaxed", 4)
        assert b"l=4;" in signed
        assert dkim.verify(signed + b"appended after signing\r\n", dnsfunc=dnsfunc), algo
        sig = dkim.sign(msg, algo.encode(), b"example.com", KEYS[algo][1], length=True,
                        signature_algorithm=b"ed25519-sha256" if algo == "ed25519" else b"rsa-sha256")
        assert b"l=" in sig
        res = tern_verify(sig + msg + b"appended\r\n")
        assert [r[0] for r in res] == ["pass"], res


if __name__ == "__main__":
    try:
        run_tests([test_tern_signs_dkimpy_verifies, test_dkimpy_signs_tern_verifies, test_body_length_both_ways])
    finally:
        import shutil
        shutil.rmtree(WORK, ignore_errors=True)
