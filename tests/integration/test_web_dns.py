#!/usr/bin/env python3
"""tern-web's DNS page ("Email Deliverability") against live DNS:

- with a name server that never answers (a UDP socket that reads and drops), every
  record is "could not check" once the panel's 3 s lookup timeout ends, and meanwhile
  tern-web keeps answering other requests at once (the lookups never block an io
  thread);
- a DKIM key made through the panel's API (the code path of `ternctl dkim`), then a
  loopback dnsmasq publishing the MX and that key as planned, a stale SPF record and
  no DMARC: the page and the API mark them present / different (showing what is
  published) / missing, and give exactly the states `ternctl dns --check` gives."""
import json
import os
import re
import socket
import threading
import time

from dnslib import DnsServer
from ternlib import TernEnv, run_tests
from test_web import Client

PW = "rootpassword1"


def write_config(env, dns_port):
    with open(env.config_path, "w") as f:
        f.write(env.config_text + f'\n[dns]\nservers = ["127.0.0.1:{dns_port}"]\n')


def api(c, token, method, path, body=None):
    h = {"Authorization": "Bearer " + token}
    s, _, data = c.req(method, path, json.dumps(body) if body is not None else None, h, "application/json")
    return s, (json.loads(data) if data.strip() else None)


def states(records):
    return {(r["name"], r["type"]): r["status"] for r in records}


def test_dns_page():
    with TernEnv(listeners=["web", "smtp", "submissions", "imaps"]) as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("domain", "add", "other.test")
        env.ctl("admin", "add", "root", "--password-stdin", input=PW + "\n")
        env.ctl("admin", "add", "other", "--password-stdin", "--domains", "other.test", input="otherpassword1\n")

        # 1. A name server that swallows every query.
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        stop = threading.Event()

        def swallow():
            hole.settimeout(0.2)
            while not stop.is_set():
                try:
                    hole.recv(4096)
                except OSError:
                    pass
        t = threading.Thread(target=swallow, daemon=True)
        t.start()
        try:
            write_config(env, hole.getsockname()[1])
            web = env.start("tern-web")
            c = Client(env.port("web"))
            s, _, _ = c.login("root", PW)
            assert s == 303
            result = {}

            def slow_page():
                t0 = time.time()
                result["page"] = c.req("GET", "/domains/example.test/dns")
                result["seconds"] = time.time() - t0
            pt = threading.Thread(target=slow_page)
            pt.start()
            time.sleep(0.3)
            # New connections go round-robin over tern-web's io threads: if a lookup
            # blocked one, some of these would wait for the 3 s timeout.
            quick = []
            for _ in range(6):
                t0 = time.time()
                assert Client(env.port("web")).req("GET", "/healthz")[0] == 200
                quick.append(time.time() - t0)
            pt.join(30)
            status, _, body = result["page"]
            assert status == 200, status
            assert result["seconds"] >= 2.5, result  # it did wait for the lookups
            assert max(quick) < 1.5, (quick, result["seconds"])
            rows = re.findall(r'<tr class="rec" data-status="([a-z]+)"', body)
            assert rows and set(rows) == {"unknown"}, rows
            assert body.count("could not check") >= len(rows), "each record says so"
            print(f"  blackholed DNS: page in {result['seconds']:.2f} s, /healthz meanwhile max {max(quick):.3f} s")
            env.stop(web)
            env.procs.remove(web)
        finally:
            stop.set()
            t.join(5)
            hole.close()

        # 2. A DKIM key through the API (token: no CSRF), scoped to the admin's domains.
        write_config(env, 9)  # no DNS server yet (port 9, discard: nothing answers); step 3 starts dnsmasq with the key
        web = env.start("tern-web")
        c = Client(env.port("web"))
        s, _, data = c.req("POST", "/api/tokens", json.dumps({"login": "root", "password": PW}), None, "application/json")
        assert s == 201, (s, data)
        token = json.loads(data)["token"]
        s, _, data = c.req("POST", "/api/tokens", json.dumps({"login": "other", "password": "otherpassword1"}), None,
                           "application/json")
        other_token = json.loads(data)["token"]
        assert api(c, other_token, "POST", "/api/domains/example.test/dkim", {"selector": "s9"})[0] == 403
        assert api(c, other_token, "GET", "/api/domains/example.test/dns")[0] == 403
        s, key = api(c, token, "POST", "/api/domains/example.test/dkim", {"selector": "s1", "algorithm": "ed25519"})
        assert s == 201 and key["dns_name"] == "s1._domainkey.example.test", key
        assert "s1" in env.ctl("dkim", "list", "example.test").stdout  # the store ternctl reads
        env.stop(web)
        env.procs.remove(web)

        # 3. dnsmasq: MX and DKIM as planned, SPF stale, DMARC absent.
        dns = DnsServer(env.dir, ["test"], txt=[("example.test", "v=spf1 ip4:198.51.100.1 -all"),
                                                ("s1._domainkey.example.test", key["txt"])],
                        mx=[("example.test", "mx.example.test", 10)], a=[("mx.example.test", "192.0.2.25")])
        try:
            write_config(env, dns.port)
            env.start("tern-web")
            s, plan = api(c, token, "GET", "/api/domains/example.test/dns")
            assert s == 200 and plan["checked"] is True, plan
            st = states(plan["records"])
            assert st[("example.test", "MX")] == "present", st
            assert st[("s1._domainkey.example.test", "TXT")] == "present", st
            assert st[("example.test", "TXT")] == "different", st
            spf = [r for r in plan["records"] if r["purpose"] == "SPF"][0]
            assert spf["published"] == ["v=spf1 ip4:198.51.100.1 -all"], spf
            assert st[("_dmarc.example.test", "TXT")] == "missing", st
            assert plan["nameservers_known"] is True and plan["nameservers"] == []
            # The CLI asks the same server and must say the same about every record.
            cli = json.loads(env.ctl("dns", "example.test", "--check", "--json").stdout)
            assert states(cli["records"]) == st, (states(cli["records"]), st)
            assert [r["zone_line"] for r in cli["records"]] == [r["zone_line"] for r in plan["records"]]

            # The page: the same states, copy buttons with the zone lines, the stale value.
            c.login("root", PW)
            s, h, body = c.req("GET", "/domains/example.test/dns")
            assert s == 200 and "'unsafe-inline'" not in h["content-security-policy"]
            assert 'data-status="present" data-name="example.test" data-type="MX"' in body
            assert 'data-status="different" data-name="example.test" data-type="TXT"' in body
            assert 'data-status="missing" data-name="_dmarc.example.test"' in body
            assert "v=spf1 ip4:198.51.100.1 -all" in body
            assert 'data-copy="example.test. IN MX 10 mx.example.test."' in body
            assert "DNS for this domain is hosted elsewhere" in body
            assert "<script>" not in body.split("</head>", 1)[1]  # no inline script
        finally:
            dns.stop()


if __name__ == "__main__":
    run_tests([test_dns_page])
