#!/usr/bin/env python3
"""tern-web over real sockets: HTTP/1.1 framing and limits, sessions and CSRF, the API,
HTTPS with the shared certificate, and the autoconfiguration documents parsed by real
parsers (ElementTree, plistlib, json)."""
import http.client
import json
import plistlib
import re
import socket
import ssl
import urllib.parse
import xml.etree.ElementTree as ET

from ternlib import TernEnv, client_tls_context, run_tests

PW = "rootpassword1"


def env(**kw):
    e = TernEnv(listeners=["web", "imaps", "submission", "submissions", "pop3s"], **kw)
    e.ctl("domain", "add", "example.test")
    e.ctl("domain", "add", "other.test")
    e.ctl("admin", "add", "root", "--password-stdin", input=PW + "\n")
    e.ctl("admin", "add", "ex", "--password-stdin", "--domains", "example.test", input="expassword12\n")
    e.ctl("user", "add", "alice@example.test", "--password-stdin", input="alicepassword1\n")
    e.ctl("user", "add", "bob@other.test", "--password-stdin", input="bobpassword12\n")
    return e


class Client:
    def __init__(self, port, tls=False):
        self.port, self.tls, self.cookie = port, tls, None

    def conn(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=client_tls_context(), timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def req(self, method, path, body=None, headers=None, ctype="application/x-www-form-urlencoded"):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = "tern_session=" + self.cookie
        if body is not None:
            if isinstance(body, dict):
                body = urllib.parse.urlencode(body)
            h.setdefault("Content-Type", ctype)
        c = self.conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("tern_session="):
                self.cookie = v.split(";")[0].split("=", 1)[1] or None
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def login(self, user, pw):
        return self.req("POST", "/login", {"login": user, "password": pw})

    def csrf(self, page="/domains"):
        _, _, body = self.req("GET", page)
        return re.search(r'name="_csrf" value="([0-9a-f]+)"', body).group(1)


def test_login_csrf_and_api_auth():
    with env() as e:
        e.start("tern-web")
        c = Client(e.port("web"))
        s, h, _ = c.req("GET", "/api/domains")
        assert s == 401, s
        s, h, _ = c.login("root", PW)
        assert s == 303 and c.cookie, (s, h)
        assert "HttpOnly" in h["set-cookie"] and "SameSite=Strict" in h["set-cookie"]
        s, _, _ = c.req("POST", "/domains", {"domain": "new.test"})
        assert s == 403, s
        s, _, _ = c.req("POST", "/domains", {"domain": "new.test", "_csrf": c.csrf()})
        assert s == 303, s
        assert "new.test" in e.ctl("domain", "list").stdout
        s, h, body = c.req("GET", "/domains")
        assert "script-src 'self'" in h["content-security-policy"] and "'unsafe-inline'" not in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"


def test_domain_admin_is_fenced():
    with env() as e:
        e.start("tern-web")
        c = Client(e.port("web"))
        c.login("ex", "expassword12")
        t = c.csrf()
        assert c.req("GET", "/domains/other.test")[0] == 403
        assert c.req("GET", "/api/domains/other.test/mailboxes")[0] == 403
        s, _, _ = c.req("POST", "/api/domains/other.test/mailboxes", json.dumps({"local": "x", "password": "xxxxxxxxxxxxx"}),
                        {"X-CSRF-Token": t}, "application/json")
        assert s == 403, s
        s, _, body = c.req("GET", "/api/domains")
        assert "other.test" not in body and "example.test" in body


def test_http_limits():
    with env() as e:
        e.start("tern-web")
        port = e.port("web")
        # Header over 16 KiB → 431, then close.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 431"), "431"
        # Body over max_body (1M) → 413, via Content-Length before the body arrives.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 2000000\r\n\r\n" + b"a" * 1000)
            assert s.recv(100).startswith(b"HTTP/1.1 413"), "413"
        # Garbage → 400.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"\x00\x01 nonsense\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400"), "400"
        # Two pipelined requests on one connection, both answered in order.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            assert data.count(b"HTTP/1.1 ") == 2 and data.index(b"200 OK") < data.index(b"404 Not Found"), data[:300]


def test_https_with_shared_certificate():
    with env(sections={"web": "tls = true"}) as e:
        e.start("tern-web")
        c = Client(e.port("web"), tls=True)
        s, h, _ = c.login("root", PW)
        assert s == 303 and "Secure" in h["set-cookie"], h
        s, h, _ = c.req("GET", "/healthz")
        assert s == 200 and "strict-transport-security" in h
        # Plain HTTP on the TLS port gets no page.
        with socket.create_connection(("127.0.0.1", e.port("web")), timeout=10) as so:
            so.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = so.recv(100)
            except OSError:
                data = b""
            assert not data.startswith(b"HTTP/1.1 200")


def test_autoconfig_documents():
    with env() as e:
        e.start("tern-web")
        c = Client(e.port("web"))
        imaps, sub, subs, pop3s = (e.port(n) for n in ("imaps", "submission", "submissions", "pop3s"))
        for path in ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"):
            s, h, body = c.req("GET", path + "?emailaddress=alice%40example.test")
            assert s == 200, (path, s)
            root = ET.fromstring(body)
            assert root.tag == "clientConfig" and root.get("version") == "1.1"
            prov = root.find("emailProvider")
            assert prov.get("id") == "example.test" and prov.find("domain").text == "example.test"
            inc = {(x.get("type"), int(x.find("port").text)): x for x in prov.findall("incomingServer")}
            assert inc[("imap", imaps)].find("socketType").text == "SSL"
            assert inc[("pop3", pop3s)].find("socketType").text == "SSL"
            out = {int(x.find("port").text): x for x in prov.findall("outgoingServer")}
            assert out[subs].find("socketType").text == "SSL" and out[sub].find("socketType").text == "STARTTLS"
            for x in list(inc.values()) + list(out.values()):
                assert x.find("hostname").text == "mx.example.test"
                assert x.find("username").text == "%EMAILADDRESS%"
        # autoconfig.DOMAIN host header, no address
        s, _, body = c.req("GET", "/mail/config-v1.1.xml", headers={"Host": "autoconfig.example.test"})
        assert s == 200 and "example.test" in body
        # Outlook POX autodiscover: the 2006 response schema's required elements.
        req = ('<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/'
               'autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress>'
               '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'
               '</AcceptableResponseSchema></Request></Autodiscover>')
        s, h, body = c.req("POST", "/autodiscover/autodiscover.xml", req, ctype="text/xml")
        assert s == 200, s
        ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
              "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
        root = ET.fromstring(body)
        acct = root.find("o:Response/o:Account", ns)
        assert acct.find("o:AccountType", ns).text == "email" and acct.find("o:Action", ns).text == "settings"
        protos = {p.find("o:Type", ns).text: p for p in acct.findall("o:Protocol", ns)}
        assert set(protos) >= {"IMAP", "SMTP"}
        for p in protos.values():
            for el in ("Server", "Port", "LoginName"):
                assert p.find("o:" + el, ns) is not None, el
        assert int(protos["IMAP"].find("o:Port", ns).text) == imaps and protos["IMAP"].find("o:SSL", ns).text == "on"
        s, _, body = c.req("POST", "/autodiscover/autodiscover.xml", "<Autodiscover/>", ctype="text/xml")
        assert ET.fromstring(body).find("a:Response/a:Error/a:ErrorCode", ns).text == "600"
        s, _, body = c.req("GET", "/autodiscover/autodiscover.json/v1.0/alice@example.test?Protocol=AutodiscoverV1")
        assert json.loads(body)["Url"].endswith("/autodiscover/autodiscover.xml")
        s, _, body = c.req("GET", "/.well-known/user-agent-configuration.json")
        pacc = json.loads(body)
        assert pacc["servers"]["imap"]["url"] == f"imaps://mx.example.test:{imaps}"
        assert pacc["servers"]["smtp"]["url"] == f"submissions://mx.example.test:{subs}"
        # Apple profile: a valid plist with the mail payload.
        assert c.req("GET", "/me/apple.mobileconfig")[0] == 303  # login first
        c.login("alice@example.test", "alicepassword1")
        s, h, body = c.req("GET", "/me/apple.mobileconfig")
        assert s == 200 and h["content-type"] == "application/x-apple-aspen-config"
        pl = plistlib.loads(body.encode())
        assert pl["PayloadType"] == "Configuration"
        mail = pl["PayloadContent"][0]
        assert mail["PayloadType"] == "com.apple.mail.managed"
        assert mail["IncomingMailServerHostName"] == "mx.example.test" and mail["IncomingMailServerPortNumber"] == imaps
        assert mail["OutgoingMailServerPortNumber"] == subs and mail["EmailAddress"] == "alice@example.test"


def test_metrics_and_health():
    with env() as e:
        e.start("tern-web")
        c = Client(e.port("web"))
        s, h, body = c.req("GET", "/metrics")
        assert s == 200 and h["content-type"].startswith("text/plain; version=0.0.4")
        for m in ("tern_messages_24h{result=\"delivered\"}", "tern_queue_messages", "tern_web_auth_failures_total",
                  "tern_store_file_bytes", "tern_web_connections"):
            assert m in body, m
        c.login("root", "wrong-password")
        _, _, body = c.req("GET", "/metrics")
        assert re.search(r"^tern_web_auth_failures_total 1$", body, re.M), body
        assert c.req("GET", "/healthz")[2] == "ok\n"


if __name__ == "__main__":
    run_tests([test_login_csrf_and_api_auth, test_domain_admin_is_fenced, test_http_limits,
               test_https_with_shared_certificate, test_autoconfig_documents, test_metrics_and_health])
