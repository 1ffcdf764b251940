"""[outbound] connections (in total) and connections_per_destination, as a peer sees
them: a scripted peer on loopback that takes 0.4 s over each message (its "data" hook)
counts the connections open at once while a queue of messages waits for it.

- per destination 3: 12 messages to one domain never have more than 3 connections open,
  and do use more than one (the queue is not sent one message at a time).
- in total 2: 6 messages to each of two domains (both MX to the same peer) never have
  more than 2 open, although each domain alone could have 10, and the second domain is
  sent too once the first one's connections are done. On db189fb it never was: a scan
  starts connections only for the destinations it adds entries to, so a destination
  that found the total cap reached waited until new mail for it came in.
"""
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from outboundlib import PySmtpPeer, TestDns, wait_for  # noqa: E402

ZONES = {d: "@ IN MX 10 mx.%s.\nmx IN A 127.0.0.1\n" % d for d in ("one.test", "two.test")}


def slow(point, info):
    if point == "data":
        time.sleep(0.4)


def send_all(env, rcpts):
    # From a remote MTA to a local forwarder per recipient: queued for the remote target.
    with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
        for i, r in enumerate(rcpts):
            s.sendmail("someone@elsewhere.test", [f"f{i}@example.test"],
                       f"From: someone@elsewhere.test\r\nTo: f{i}@example.test\r\nSubject: cap {i}\r\n\r\nhi\r\n".encode())


def run_case(outbound, rcpts):
    with TestDns(ZONES) as dns, PySmtpPeer(hook=slow, pipelining=True) as peer, TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {peer.port}
{outbound}
""") as env:
        env.ctl("domain", "add", "example.test")
        for i, r in enumerate(rcpts):
            env.ctl("alias", "add", f"f{i}@example.test", r)
        env.start("tern-mta")
        send_all(env, rcpts)
        wait_for(lambda: len(peer.messages) == len(rcpts), timeout=60, what="every message at the peer")
        return peer.max_open


def test_connections_per_destination():
    most = run_case("connections_per_destination = 3", [f"u{i}@one.test" for i in range(12)])
    assert 2 <= most <= 3, most


def test_connections_in_total():
    rcpts = [f"u{i}@one.test" for i in range(6)] + [f"u{i}@two.test" for i in range(6)]
    most = run_case("connections = 2\nconnections_per_destination = 10", rcpts)
    assert most <= 2, most


if __name__ == "__main__":
    run_tests([test_connections_per_destination, test_connections_in_total])
