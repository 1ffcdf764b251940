"""ternctl dns DOMAIN [--check] [--json]: the records to publish, and --check against a
loopback dnsmasq: the MX and the DKIM key are present, a stale SPF record is
"different" (and shown), DMARC is missing, and the zone's NS are not this host, so it
says "DNS hosted elsewhere"."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from dnslib import DnsServer  # noqa: E402

env = None
dns = None


def by(records, purpose, type_=None):
    return [r for r in records if r["purpose"] == purpose and (type_ is None or r["type"] == type_)]


def test_plan():
    p = json.loads(env.ctl("dns", "example.test", "--json", "--ip", "192.0.2.25,2001:db8::25").stdout)
    recs = p["records"]
    assert by(recs, "MX")[0]["value"] == "10 mx.example.test."
    assert by(recs, "SPF")[0]["value"] == "v=spf1 mx ip4:192.0.2.25 ip6:2001:db8::25 -all"
    dk = by(recs, "DKIM")
    assert len(dk) == 1 and dk[0]["name"] == "s1._domainkey.example.test" and dk[0]["value"].startswith("v=DKIM1; k=rsa; p=")
    assert '" "' in dk[0]["zone_line"]  # a 2048-bit key needs two strings
    assert by(recs, "DMARC")[0]["value"] == "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"
    assert by(recs, "MTA-STS", "TXT")[0]["value"].startswith("v=STSv1; id=")
    assert "mx: mx.example.test" in p["mta_sts_policy"] and "mode: enforce" in p["mta_sts_policy"]
    assert by(recs, "TLS-RPT")[0]["value"] == "v=TLSRPTv1; rua=mailto:postmaster@example.test"
    srv = {r["name"]: r["value"] for r in by(recs, "SRV")}
    assert srv["_submissions._tcp.example.test"] == "0 1 465 mx.example.test."
    assert srv["_imaps._tcp.example.test"] == "0 1 993 mx.example.test."
    assert srv["_pop3._tcp.example.test"] == "0 0 0 ."  # POP3 is not configured here
    assert {r["name"] for r in by(recs, "autoconfig")} == {"autoconfig.example.test", "autodiscover.example.test"}
    ptr = by(recs, "PTR")
    assert ptr[0]["name"] == "25.2.0.192.in-addr.arpa" and ptr[0]["value"] == "mx.example.test."
    text = env.ctl("dns", "example.test", "--ip", "192.0.2.25").stdout
    assert "example.test. IN MX 10 mx.example.test." in text
    assert "_dmarc.example.test. IN TXT \"v=DMARC1; p=quarantine;" in text


def test_check():
    p = json.loads(env.ctl("dns", "example.test", "--json", "--check", "--ip", "192.0.2.25").stdout)
    recs = p["records"]
    assert by(recs, "MX")[0]["status"] == "present", by(recs, "MX")
    spf = by(recs, "SPF")[0]
    assert spf["status"] == "different" and spf["published"] == ["v=spf1 ip4:198.51.100.1 -all"], spf
    assert by(recs, "DKIM")[0]["status"] == "present", by(recs, "DKIM")
    assert by(recs, "DMARC")[0]["status"] == "missing"
    assert p["hosted_elsewhere"] is True
    text = env.ctl("dns", "example.test", "--check").stdout
    assert "DNS hosted elsewhere" in text, text
    assert "published: v=spf1 ip4:198.51.100.1 -all" in text


def main():
    global env, dns
    with TernEnv(listeners={"smtp": None, "submissions": None, "imaps": None}) as e:
        env = e
        env.ctl("domain", "add", "example.test")
        out = env.ctl("dkim", "generate", "example.test", "--selector", "s1").stdout
        txt = "".join(out.split("IN TXT", 1)[1].split('"')[1::2])
        dns = DnsServer(env.dir, ["test"], txt=[("example.test", "v=spf1 ip4:198.51.100.1 -all"),
                                                ("s1._domainkey.example.test", txt)],
                        mx=[("example.test", "mx.example.test", 10)], a=[("mx.example.test", "192.0.2.25")])
        with open(env.config_path, "a") as f:
            f.write(f'\n[dns]\nservers = ["127.0.0.1:{dns.port}"]\n')
        try:
            run_tests([test_plan, test_check])
        finally:
            dns.stop()


if __name__ == "__main__":
    main()
