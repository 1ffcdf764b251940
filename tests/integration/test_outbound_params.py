"""DSN parameters (RFC 3461) on their way through tern to the next hop, with a scripted
DSN-capable peer on loopback that records every command it reads.

- An ENVID whose xtext decodes to CR LF (ENVID=x+0D+0ARCPT+20TO:<...>) is refused at
  MAIL FROM with 501: tern keeps ENVID decoded, and a decoded line break would have
  gone out raw in the next hop's MAIL command, a second command injected by a stranger.
- A message to a forwarder with ENVID, RET, NOTIFY and ORCPT reaches the remote target
  with each parameter as the client gave it: ENVID encoded once (not raw, so "+" and a
  space survive), ORCPT passed as received (not encoded a second time).
"""
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402
from outboundlib import PySmtpPeer, TestDns, wait_for  # noqa: E402


def test_dsn_parameters_relayed_encoded_once_and_never_injected():
    zones = {"remote.test": "@ IN MX 10 mx.remote.test.\nmx IN A 127.0.0.1\n"}
    with TestDns(zones) as dns, PySmtpPeer(dsn=True, pipelining=True, name="mx.remote.test") as peer, \
            TernEnv(extra_config=f"""
[dns]
servers = ["127.0.0.1:{dns.port}"]
[outbound]
port = {peer.port}
""") as env:
        env.ctl("domain", "add", "example.test")
        env.ctl("alias", "add", "fwd@example.test", "y@remote.test")
        env.start("tern-mta")
        msg = (b"From: someone@elsewhere.test\r\nTo: fwd@example.test\r\nSubject: params\r\n"
               b"Message-ID: <params@elsewhere.test>\r\n\r\nbody\r\n")
        with smtplib.SMTP("127.0.0.1", env.port("smtp"), timeout=20) as s:
            s.ehlo("client.elsewhere.test")
            assert s.has_extn("dsn")
            code, text = s.docmd("MAIL FROM:<someone@elsewhere.test> "
                                 "ENVID=x+0D+0ARCPT+20TO:<victim@remote.test>")
            assert code == 501, (code, text)
            assert b"ENVID" in text, text
            s.rset()
            s.sendmail("someone@elsewhere.test", ["fwd@example.test"], msg,
                       mail_options=["RET=HDRS", "ENVID=QQ+2B1+20x"],
                       rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;fwd+2Btag@example.test"])
        wait_for(lambda: peer.messages, timeout=30, what="the forwarded message at the peer")
        m = peer.messages[0]
        assert m["rcpts"] == ["y@remote.test"], m
        cmds = [c for n, c in peer.commands if n == m["conn"]]
        mail = [c for c in cmds if c.upper().startswith("MAIL FROM:")]
        rcpt = [c for c in cmds if c.upper().startswith("RCPT TO:")]
        assert len(mail) == 1 and len(rcpt) == 1, cmds
        assert " RET=HDRS" in mail[0] and mail[0].endswith(" ENVID=QQ+2B1+20x"), mail[0]
        assert rcpt[0] == ("RCPT TO:<y@remote.test> NOTIFY=FAILURE,DELAY "
                           "ORCPT=rfc822;fwd+2Btag@example.test"), rcpt[0]
        assert not any("victim" in c for _, c in peer.commands), peer.commands
        assert not peer.violations, peer.violations


if __name__ == "__main__":
    run_tests([test_dsn_parameters_relayed_encoded_once_and_never_injected])
