"""The inbound checks ask independent DNS questions concurrently (issue 15): the SPF
checks of MAIL FROM and of HELO side by side, every DKIM signature's key together with
the DMARC policy discovery. A proxy in front of the test dnsmasq (dnslib.DelayProxy)
holds every answer DELAY seconds, so a message costs about its slowest chain of answers,
not their sum; the proxy's log shows the questions arriving together. A question that is
never answered is a DNS timeout: dkim=temperror after the resolver's timeout, the message
is still delivered, and other sessions are not held up meanwhile."""
import base64
import os
import smtplib
import sys
import threading
import time

import authres
import dkim
import nacl.signing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from dnslib import DelayProxy, DnsServer  # noqa: E402

HOST = "mx.example.test"
DELAY = 0.4
SIGNATURES = 6
env = dns = proxy = None
KEYS = {}


def ed_key():
    sk = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(sk)), "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode()


def message(frm, subject):
    return (f"From: <{frm}>\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@test>\r\n"
            f"\r\nTiming test.\r\n").encode()


def sign(msg, selector, domain):
    return dkim.sign(msg, selector.encode(), domain.encode(), KEYS[(selector, domain)],
                     include_headers=[b"from", b"to", b"subject"],
                     signature_algorithm=b"ed25519-sha256") + msg


def ours(stored):
    head = stored.split(b"\r\n\r\n", 1)[0].decode()
    fields, cur = [], None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += line
            continue
        if cur is not None:
            fields.append(cur)
        cur = line
    fields.append(cur)
    ars = [authres.AuthenticationResultsHeader.parse(f) for f in fields
           if f.lower().startswith("authentication-results:")]
    ars = [a for a in ars if a.authserv_id == HOST]
    assert len(ars) == 1, fields
    return ars[0]


def stored_with(subject):
    for m in env.mailbox("bob@example.test").values():
        if subject.encode() in m:
            return m
    raise AssertionError(f"{subject!r} not delivered")


def first_asked(names):
    """When the proxy first saw each name."""
    seen = {}
    for t, n in list(proxy.asked):
        seen.setdefault(n, t)
    missing = [n for n in names if n not in seen]
    assert not missing, (missing, proxy.asked[-20:])
    return [seen[n] for n in names]


def send_timed(helo, mailfrom, msg):
    """(seconds for MAIL FROM, seconds from the end of DATA to its reply)."""
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=60) as s:
        s.ehlo(helo)
        t0 = time.monotonic()
        code, _ = s.mail(mailfrom)
        t_mail = time.monotonic() - t0
        assert code == 250
        assert s.rcpt("bob@example.test")[0] == 250
        t0 = time.monotonic()
        code, reply = s.data(msg)
        t_data = time.monotonic() - t0
        assert code == 250, (code, reply)
    return t_mail, t_data


def test_spf_mailfrom_and_helo_side_by_side():
    # Each identity is a 2-round chain (TXT, then the A of its `a` mechanism).
    t_mail, _ = send_timed("helo.sp1.test", "a@sp1.test", message("a@sp1.test", "spf timing"))
    ar = ours(stored_with("spf timing"))
    spf = {(r.properties[0].name, r.result) for r in ar.results if r.method == "spf"}
    assert spf == {("mailfrom", "pass"), ("helo", "pass")}, str(ar)
    t = first_asked(["sp1.test", "helo.sp1.test"])
    print(f"  SPF MAIL FROM + HELO (2 rounds each, {DELAY}s per answer): MAIL answered in {t_mail:.2f}s "
          f"(one after the other: >= {4 * DELAY:.1f}s); first questions {abs(t[0] - t[1]) * 1000:.0f} ms apart",
          flush=True)
    assert abs(t[0] - t[1]) < DELAY / 2, t
    assert t_mail < 2 * DELAY + 0.6, t_mail


def test_dkim_keys_and_dmarc_concurrently():
    subject = "dkim timing"
    msg = message("a@dk6.test", subject)
    for i in range(1, SIGNATURES + 1):
        msg = sign(msg, f"k{i}", "dk6.test")
    _, t_data = send_timed("[127.0.0.1]", "a@dk6.test", msg)
    ar = ours(stored_with(subject))
    assert [r.result for r in ar.results if r.method == "dkim"] == ["pass"] * SIGNATURES, str(ar)
    assert [r.result for r in ar.results if r.method == "dmarc"] == ["pass"], str(ar)
    names = [f"k{i}._domainkey.dk6.test" for i in range(1, SIGNATURES + 1)] + ["_dmarc.dk6.test"]
    t = first_asked(names)
    spread = max(t) - min(t)
    # The slowest chain is DMARC's: _dmarc.dk6.test, then the tree walk's _dmarc.test
    # (which the resolver may have cached from an earlier message).
    print(f"  {SIGNATURES} DKIM keys + DMARC ({DELAY}s per answer): end of data answered in {t_data:.2f}s "
          f"(one after the other: >= {(SIGNATURES + 1) * DELAY:.1f}s); "
          f"{len(names)} questions sent within {spread * 1000:.0f} ms", flush=True)
    assert spread < DELAY / 2, spread
    assert t_data < 2 * DELAY + 0.8, t_data


def test_dns_timeout_is_temperror_and_holds_no_one_else():
    subject = "dkim dead key"
    msg = sign(message("a@dk7.test", subject), "dead", "dk7.test")
    out = {}

    def slow():
        out["times"] = send_timed("[127.0.0.1]", "a@dk7.test", msg)

    t = threading.Thread(target=slow)
    t0 = time.monotonic()
    t.start()
    time.sleep(1.0)  # the dead key's question is out
    _, quick = send_timed("[127.0.0.1]", "a@dk6.test", message("a@dk6.test", "meanwhile"))
    quick_done = time.monotonic() - t0
    t.join(timeout=60)
    assert not t.is_alive(), "the session with the dead key hangs"
    total = time.monotonic() - t0
    ar = ours(stored_with(subject))
    assert [r.result for r in ar.results if r.method == "dkim"] == ["temperror"], str(ar)
    print(f"  unanswered key: dkim=temperror, message delivered after {out['times'][1]:.1f}s; "
          f"another session's message meanwhile took {quick:.2f}s", flush=True)
    assert out["times"][1] < 15, out
    assert quick < 2 * DELAY + 1.0 and quick_done < out["times"][1], (quick, quick_done, total)


def main():
    global env, dns, proxy
    env = TernEnv(hostname=HOST, listeners={"smtp": None}, extra_config="")
    txt = [("sp1.test", "v=spf1 a -all"), ("helo.sp1.test", "v=spf1 a -all"),
           ("_dmarc.dk6.test", "v=DMARC1; p=none"), ("_dmarc.dk7.test", "v=DMARC1; p=none")]
    for i in range(1, SIGNATURES + 1):
        seed, rec = ed_key()
        KEYS[(f"k{i}", "dk6.test")] = seed
        txt.append((f"k{i}._domainkey.dk6.test", rec))
    seed, rec = ed_key()
    KEYS[("dead", "dk7.test")] = seed
    txt.append(("dead._domainkey.dk7.test", rec))
    dns = DnsServer(env.dir, ["test"], txt=txt, a=[("sp1.test", "127.0.0.1"), ("helo.sp1.test", "127.0.0.1")])
    proxy = DelayProxy(dns.port, delay=DELAY, drop={"dead._domainkey.dk7.test"})
    with open(env.config_path) as f:
        text = f.read().replace("\n[checks]\nenabled = false\n", "\n", 1)
    text += f'\n[dns]\nservers = ["127.0.0.1:{proxy.port}"]\n\n[checks]\nenabled = true\ntimeout = "20s"\n'
    with open(env.config_path, "w") as f:
        f.write(text)
    try:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "bob@example.test", "--password-stdin", input="pw-bob-1234\n")
        env.start("tern-mta")
        # Warm up: unbound starts with a 376 ms retransmit timeout for a new server, below
        # DELAY, so its first questions would each wait for a retransmitted answer; one
        # message teaches it the proxy's round-trip time.
        send_timed("[127.0.0.1]", "a@warm.test", message("a@warm.test", "warm up"))
        run_tests([test_spf_mailfrom_and_helo_side_by_side, test_dkim_keys_and_dmarc_concurrently,
                   test_dns_timeout_is_temperror_and_holds_no_one_else])
    finally:
        env.__exit__(None, None, None)
        proxy.stop()
        dns.stop()


if __name__ == "__main__":
    main()
