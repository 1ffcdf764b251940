"""Inbound SPF, DKIM and DMARC with real peers: a loopback dnsmasq serves the senders'
SPF, DKIM keys and DMARC records; messages signed by python3-dkim (rsa and ed25519)
go to tern-mta's MX listener over smtplib; each stored message's Authentication-Results
is parsed with python3-authres and its results asserted. p=reject is refused with 550,
p=quarantine lands in Junk, and a forged Authentication-Results with our authserv-id is
removed while another host's stays."""
import base64
import os
import smtplib
import subprocess
import sys

import authres
import dkim
import nacl.signing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from dnslib import DnsServer  # noqa: E402

HOST = "mx.example.test"
env = None
dns = None
KEYS = {}


def rsa_key(workdir):
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed_key():
    sk = nacl.signing.SigningKey.generate()
    seed = base64.b64encode(bytes(sk))
    pub = base64.b64encode(bytes(sk.verify_key)).decode()
    return seed, "v=DKIM1; k=ed25519; p=" + pub


def message(frm, subject, body="Hello from the checks test.\r\n", extra=b""):
    return extra + (f"From: Sender <{frm}>\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
                    f"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@test>\r\n"
                    f"\r\n{body}").encode()


def sign(msg, selector, domain, algo="rsa"):
    key = KEYS[(selector, domain)]
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                    signature_algorithm=b"ed25519-sha256" if algo == "ed25519" else b"rsa-sha256")
    return sig + msg


def send(mailfrom, msg):
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
        s.ehlo("client.helo.test")
        s.sendmail(mailfrom, ["bob@example.test"], msg)


def results_of(stored):
    """The Authentication-Results fields of a stored message, as authres objects."""
    head = stored.split(b"\r\n\r\n", 1)[0].decode()
    fields, cur = [], None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += line
            continue
        if cur is not None:
            fields.append(cur)
        cur = line
    if cur is not None:
        fields.append(cur)
    return [authres.AuthenticationResultsHeader.parse(f) for f in fields
            if f.lower().startswith("authentication-results:")]


def last_message(mailbox="INBOX"):
    msgs = env.mailbox("bob@example.test", mailbox)
    assert msgs, f"no message in {mailbox}"
    return msgs[max(msgs)]


def ours(stored):
    ars = [a for a in results_of(stored) if a.authserv_id == HOST]
    assert len(ars) == 1, [str(a) for a in results_of(stored)]
    return ars[0]


def prop(r, name):
    """A result's property value by "ptype.property" name (authres knows only some)."""
    for p in r.properties:
        if f"{p.type}.{p.name}" == name:
            return p.value
    return None


def result(ar, method):
    return [r for r in ar.results if r.method == method]


def check(subject, mailfrom, frm, spf, dkim_results, dmarc, signed=None, mailbox="INBOX"):
    msg = signed if signed is not None else message(frm, subject)
    send(mailfrom, msg)
    stored = last_message(mailbox)
    assert subject.encode() in stored, stored[:300]
    ar = ours(stored)
    # RFC 8601: the MAIL FROM result, and the HELO identity's own beside it (RFC 7208
    # §2.3; client.helo.test has no SPF record).
    got_spf = [r for r in result(ar, "spf") if prop(r, "smtp.mailfrom") is not None]
    assert [r.result for r in got_spf] == [spf], str(ar)
    assert [(r.result, prop(r, "smtp.helo")) for r in result(ar, "spf") if prop(r, "smtp.helo")] == \
        [("none", "client.helo.test")], str(ar)
    assert [r.result for r in result(ar, "dkim")] == dkim_results, str(ar)
    assert [r.result for r in result(ar, "dmarc")] == [dmarc], str(ar)
    return ar, stored


# --- the cases -----------------------------------------------------------------------

def test_spf_pass_aligned_dmarc_pass():
    ar, stored = check("spf pass", "a@pass.test", "a@pass.test", "pass", ["none"], "pass")
    assert result(ar, "spf")[0].smtp_mailfrom == "a@pass.test"
    assert prop(result(ar, "dmarc")[0], "header.from") == "pass.test"
    assert b"dmarc=pass (p=reject dis=none) header.from=pass.test" in stored, stored[:500]


def test_spf_fail_accepted_and_marked():
    check("spf fail", "a@fail.test", "a@fail.test", "fail", ["none"], "none")


def test_spf_softfail():
    check("spf softfail", "a@soft.test", "a@soft.test", "softfail", ["none"], "none")


def test_spf_missing():
    check("spf none", "a@nospf.test", "a@nospf.test", "none", ["none"], "none")


def test_spf_loop_is_permerror():
    check("spf loop", "a@loop.test", "a@loop.test", "permerror", ["none"], "none")


def test_dkim_rsa_valid():
    msg = sign(message("a@dk.test", "dkim rsa"), "s1", "dk.test")
    ar, _ = check("dkim rsa", "a@nospf.test", "a@dk.test", "none", ["pass"], "pass", signed=msg)
    d = result(ar, "dkim")[0]
    assert d.header_d == "dk.test" and d.header_s == "s1", str(ar)
    assert result(ar, "dkim")[0].header_a == "rsa-sha256"


def test_dkim_body_altered_fails():
    msg = sign(message("a@dk.test", "dkim altered"), "s1", "dk.test")
    msg = msg.replace(b"Hello from", b"Hullo from")
    check("dkim altered", "a@nospf.test", "a@dk.test", "none", ["fail"], "fail", signed=msg)


def test_dkim_missing_key_permerror():
    msg = sign(message("a@dk.test", "dkim nokey"), "gone", "dk.test")
    check("dkim nokey", "a@nospf.test", "a@dk.test", "none", ["permerror"], "fail", signed=msg)


def test_dkim_ed25519_and_rsa_together():
    msg = sign(message("a@dk.test", "dkim ed25519"), "e1", "dk.test", "ed25519")
    ar, _ = check("dkim ed25519", "a@nospf.test", "a@dk.test", "none", ["pass"], "pass", signed=msg)
    assert result(ar, "dkim")[0].header_a == "ed25519-sha256"
    both = sign(msg, "s1", "dk.test")
    check("dkim ed25519", "a@nospf.test", "a@dk.test", "none", ["pass", "pass"], "pass", signed=both)


def test_dmarc_quarantine_goes_to_junk():
    before = len(env.mailbox("bob@example.test", "INBOX"))
    check("dmarc quarantine", "a@qu.test", "a@qu.test", "fail", ["none"], "fail", mailbox="Junk")
    assert len(env.mailbox("bob@example.test", "INBOX")) == before


def test_dmarc_reject_refused_with_550():
    before = len(env.mailbox("bob@example.test", "INBOX"))
    try:
        send("a@rj.test", message("a@rj.test", "dmarc reject"))
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550, e
        assert b"5.7.1" in e.smtp_error and b"DMARC" in e.smtp_error, e
    else:
        raise AssertionError("p=reject message was accepted")
    assert len(env.mailbox("bob@example.test", "INBOX")) == before
    # A valid aligned signature makes the same sender pass.
    msg = sign(message("a@rj.test", "dmarc reject signed"), "s1", "rj.test")
    check("dmarc reject signed", "a@rj.test", "a@rj.test", "fail", ["pass"], "pass", signed=msg)


def test_forged_authentication_results_removed():
    forged = (f"Authentication-Results: {HOST}; spf=pass smtp.mailfrom=a@fail.test;\r\n"
              f"\tdkim=pass header.d=fail.test; dmarc=pass\r\n"
              "Authentication-Results: other.example.org; spf=pass smtp.mailfrom=x@y.test\r\n").encode()
    msg = message("a@fail.test", "forged ar", extra=forged)
    ar, stored = check("forged ar", "a@fail.test", "a@fail.test", "fail", ["none"], "none", signed=msg)
    assert stored.count(HOST.encode() + b"; spf=pass") == 0, stored[:600]
    others = [a for a in results_of(stored) if a.authserv_id == "other.example.org"]
    assert len(others) == 1


def test_null_sender_checks_helo():
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
        s.ehlo("helo.pass.test")
        s.sendmail("", ["bob@example.test"], message("a@nospf.test", "null sender"))
    ar = ours(last_message())
    spf = result(ar, "spf")[0]
    assert spf.result == "pass" and spf.smtp_helo == "helo.pass.test", str(ar)


def send_helo(helo, mailfrom, msg):
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=30) as s:
        s.ehlo(helo)
        s.sendmail(mailfrom, ["bob@example.test"], msg)


def spf_results(ar):
    return [(r.result, "mailfrom" if prop(r, "smtp.mailfrom") else "helo",
             prop(r, "smtp.mailfrom") or prop(r, "smtp.helo")) for r in result(ar, "spf")]


def test_helo_checked_beside_mailfrom():
    # HELO passes, MAIL FROM fails: both reported, the MAIL FROM result decides.
    send_helo("helo.pass.test", "a@fail.test", message("a@fail.test", "helo beside"))
    ar = ours(last_message())
    assert spf_results(ar) == [("fail", "mailfrom", "a@fail.test"), ("pass", "helo", "helo.pass.test")], str(ar)
    # HELO fails, MAIL FROM passes: delivered, DMARC passes on MAIL FROM.
    send_helo("helo.fail.test", "a@pass.test", message("a@pass.test", "helo fails"))
    stored = last_message()
    assert b"helo fails" in stored
    ar = ours(stored)
    assert spf_results(ar) == [("pass", "mailfrom", "a@pass.test"), ("fail", "helo", "helo.fail.test")], str(ar)
    assert [r.result for r in result(ar, "dmarc")] == ["pass"], str(ar)
    # An address literal is not a HELO identity SPF can check (§2.3): no smtp.helo result.
    send_helo("[127.0.0.1]", "a@pass.test", message("a@pass.test", "helo literal"))
    ar = ours(last_message())
    assert spf_results(ar) == [("pass", "mailfrom", "a@pass.test")], str(ar)


def test_helo_pass_never_aligns_dmarc_for_a_sender():
    # From pass.test (p=reject), MAIL FROM fails SPF, HELO helo.pass.test passes and would
    # align (relaxed) with pass.test: DMARC must not use it (RFC 9989/7489: MAIL FROM),
    # so the message is refused.
    before = len(env.mailbox("bob@example.test", "INBOX"))
    try:
        send_helo("helo.pass.test", "a@fail.test", message("a@pass.test", "helo no dmarc"))
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550 and b"DMARC" in e.smtp_error, e
    else:
        raise AssertionError("a HELO pass made DMARC pass for a non-null MAIL FROM")
    assert len(env.mailbox("bob@example.test", "INBOX")) == before
    # The null sender: HELO is the SPF identity DMARC uses, so the same From passes.
    send_helo("helo.pass.test", "", message("a@pass.test", "helo null dmarc"))
    ar = ours(last_message())
    assert spf_results(ar) == [("pass", "helo", "helo.pass.test")], str(ar)
    assert [r.result for r in result(ar, "dmarc")] == ["pass"], str(ar)


def main():
    global env, dns
    env = TernEnv(extra_config="", hostname=HOST, listeners={"smtp": None})
    rsa_pem, rsa_txt = rsa_key(env.dir)
    rj_pem, rj_txt = rsa_key(env.dir)
    ed_seed, ed_txt = ed_key()
    KEYS[("s1", "dk.test")] = rsa_pem
    KEYS[("gone", "dk.test")] = rsa_pem
    KEYS[("e1", "dk.test")] = ed_seed
    KEYS[("s1", "rj.test")] = rj_pem
    zones = ["test"]  # authoritative for all of .test: unknown names are NXDOMAIN
    dns = DnsServer(env.dir, zones, txt=[
        ("pass.test", "v=spf1 ip4:127.0.0.1 -all"),
        ("_dmarc.pass.test", "v=DMARC1; p=reject"),
        ("helo.pass.test", "v=spf1 a -all"),
        ("helo.fail.test", "v=spf1 -all"),
        ("fail.test", "v=spf1 ip4:192.0.2.1 -all"),
        ("soft.test", "v=spf1 ~all"),
        ("loop.test", "v=spf1 include:loop.test -all"),
        ("s1._domainkey.dk.test", rsa_txt),
        ("e1._domainkey.dk.test", ed_txt),
        ("_dmarc.dk.test", "v=DMARC1; p=none"),
        ("qu.test", "v=spf1 -all"),
        ("_dmarc.qu.test", "v=DMARC1; p=quarantine"),
        ("rj.test", "v=spf1 -all"),
        ("_dmarc.rj.test", "v=DMARC1; p=reject"),
        ("s1._domainkey.rj.test", rj_txt),
    ], a=[("nospf.test", "192.0.2.9"), ("helo.pass.test", "127.0.0.1")])
    # Rewrite the config with the test DNS and the checks on.
    with open(env.config_path, "a") as f:
        f.write(f'\n[dns]\nservers = ["127.0.0.1:{dns.port}"]\n\n[checks]\nenabled = true\ntimeout = "10s"\n')
    with open(env.config_path) as f:
        text = f.read()
    text = text.replace("\n[checks]\nenabled = false\n", "\n", 1)
    with open(env.config_path, "w") as f:
        f.write(text)
    try:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "bob@example.test", "--password-stdin", input="pw-bob-123\n")
        env.start("tern-mta")
        run_tests([test_spf_pass_aligned_dmarc_pass, test_spf_fail_accepted_and_marked, test_spf_softfail,
                   test_spf_missing, test_spf_loop_is_permerror, test_dkim_rsa_valid,
                   test_dkim_body_altered_fails, test_dkim_missing_key_permerror,
                   test_dkim_ed25519_and_rsa_together, test_dmarc_quarantine_goes_to_junk,
                   test_dmarc_reject_refused_with_550, test_forged_authentication_results_removed,
                   test_null_sender_checks_helo, test_helo_checked_beside_mailfrom,
                   test_helo_pass_never_aligns_dmarc_for_a_sender])
    finally:
        env.__exit__(None, None, None)
        dns.stop()


if __name__ == "__main__":
    main()
