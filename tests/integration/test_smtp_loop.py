"""A forwarding loop across two servers (RFC 5321 §6.3): tern forwards fwd@example.test
to y@remote.test, and the remote, a real Postfix, forwards y@remote.test back to
fwd@example.test (virtual_alias_maps, transport to tern's MX port). Postfix's own
hopcount_limit is raised to 200 so that tern's check is the one that ends the loop.

Checked: tern refuses the message once it carries more than 50 Received fields, with
"554 5.4.6 Too many hops (52 Received fields): mail forwarding loop", and the loop
stops there (no further forward), and the refusal is in tern-mta's log. Before the
check (db189fb) no refusal came within the 120 s the test waits.
"""
import os
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, free_port, run_tests  # noqa: E402
from outboundlib import PostfixPeer, TestDns, wait_for  # noqa: E402


def loop(env, pf):
    env.ctl("domain", "add", "example.test")
    env.ctl("alias", "add", "fwd@example.test", "y@remote.test")
    env.start("tern-mta")
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        s.sendmail("someone@elsewhere.test", ["fwd@example.test"],
                   b"From: someone@elsewhere.test\r\nTo: fwd@example.test\r\n"
                   b"Subject: round and round\r\n\r\nbody\r\n")

    def refused():
        m = re.search(r'outcome="554 5\.4\.6 Too many hops \((\d+) Received fields\): '
                      r'mail forwarding loop"', env.log("tern-mta"))
        return m and int(m.group(1))
    hops = wait_for(refused, timeout=120, what="tern refusing the looping message")
    assert hops == 52, hops  # the first count over 50 (2 Received fields a round)

    def forwards():
        return len(re.findall(r"status=queued to=<y@remote\.test>", env.log("tern-mta")))
    n = forwards()
    assert n == 26, n  # accepted and forwarded with 0, 2, ... 50 Received fields
    time.sleep(3)
    assert forwards() == n, "the loop went on after the refusal"


def test_forwarding_loop_between_two_servers_is_refused_at_50_hops():
    tmp = tempfile.mkdtemp(prefix="tern-loop-")
    os.chmod(tmp, 0o755)
    pf_port = free_port()
    try:
        zones = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n",
                 "example.test": '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"\n'}
        with TestDns(zones) as dns, TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {pf_port}
retry_min = "1s"
""") as env:
            with open(os.path.join(tmp, "valias"), "w") as f:
                f.write("y@remote.test fwd@example.test\n")
            with open(os.path.join(tmp, "transport"), "w") as f:
                f.write(f"example.test smtp:[127.0.0.1]:{env.port('smtp')}\n")
            # Postfix retries a deferred message after 1 s, not its default 5 min, so a
            # transient 4xx on a loaded machine does not outlast the wait below.
            extra = (f"virtual_alias_maps = texthash:{tmp}/valias\n"
                     f"transport_maps = texthash:{tmp}/transport\n"
                     "hopcount_limit = 200\n"
                     "queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n")
            with PostfixPeer(users=["z@remote.test"], extra_main=extra, port=pf_port) as pf:
                try:
                    loop(env, pf)
                except BaseException:
                    # What each side logged: the failure in CI is read from this.
                    print("--- tern-mta.log (tail)\n" + env.log("tern-mta")[-6000:])
                    print("--- postfix.log (tail)\n" + pf.log()[-6000:])
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_forwarding_loop_between_two_servers_is_refused_at_50_hops])
