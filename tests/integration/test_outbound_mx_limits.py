"""MX answers a destination's owner controls, as tern-mta meets them (loopback unbound,
nothing listening on the MX port, so every connection is refused at once):

- many.test has 15 MX hosts: one delivery run tries the first 10 (by preference) and
  stops (Postfix stops at 5 addresses), instead of spending a connect timeout on each of
  hundreds; the entry is deferred with one attempt counted.
- badmx.test's only MX target holds ESC, CR and LF: it is not a host name. The message
  is deferred with "malformed MX record" (not sent to the domain's own address as if it
  had no MX), and no raw control octet reaches tern-mta's log or ternctl's output.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, free_port, run_tests  # noqa: E402
from outboundlib import TestDns, submit_many, wait_for  # noqa: E402

PW = "secret-pw-1"


def test_mx_host_limit_and_malformed_mx_targets():
    many = "".join(f"@ IN MX {10 * i} mx{i}.many.test.\nmx{i} IN A 127.0.0.1\n" for i in range(1, 16))
    zones = {"many.test": many,
             "badmx.test": "@ IN MX 10 mx\\027[2J\\013\\010evil.badmx.test.\n@ IN A 127.0.0.1\n"}
    port = free_port()  # nothing listens there
    with TestDns(zones) as dns, TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {port}
retry_min = "1h"
retry_max = "2h"
""") as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
        env.start("tern-mta")
        submit_many(env, "a@example.test", PW,
                    [([rcpt], f"From: a@example.test\r\nTo: {rcpt}\r\nSubject: limits\r\n\r\nhi\r\n".encode())
                     for rcpt in ("u@many.test", "u@badmx.test")])

        def deferred():
            q = json.loads(env.ctl("queue", "list", "--json").stdout)
            return q if len(q) == 2 and all(e["attempts"] == 1 for e in q) else None
        q = {e["recipient"]: e for e in wait_for(deferred, timeout=60, what="both deferred once")}
        log = env.log("tern-mta")
        tried = re.findall(r"outbound: (mx\d+)\.many\.test 127\.0\.0\.1:\d+: ", log)
        assert tried == [f"mx{i}" for i in range(1, 11)], tried
        assert "u@many.test" in q and q["u@many.test"]["last_error"], q
        assert re.search(r"many\.test: tried 10 MX hosts and 10 addresses, the limit", log), log[-3000:]

        bad = q["u@badmx.test"]
        assert "malformed MX record" in bad["last_error"], bad
        assert "\x1b" not in log and "evil" not in log, log[-3000:]
        listing = env.ctl("queue", "list").stdout
        assert "\x1b" not in listing and "evil" not in listing, listing
        # Not delivered to badmx.test's own A record as if it had no MX.
        assert not re.search(r"outbound: badmx\.test ", log), log[-3000:]


if __name__ == "__main__":
    run_tests([test_mx_host_limit_and_malformed_mx_targets])
