"""Header From ownership on submission ([smtp] check_header_from, default on): a user
who logged in may send only with a From: whose addresses they own -- their own address,
a plus-address of it, or an alias that reaches their account -- else the end of DATA
(or BDAT LAST) gets 550 5.7.1 naming the address. The envelope sender was already
checked at MAIL (553 5.7.1; MAIL FROM:<> refused too). With the key off, only the
envelope is checked.
"""
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, client_tls_context, run_tests  # noqa: E402

PW = "secret-pw-1"


def setup(env):
    env.ctl("domain", "add", "example.test")
    env.ctl("user", "add", "a@example.test", "--password-stdin", input=PW + "\n")
    env.ctl("user", "add", "b@example.test", "--password-stdin", input=PW + "\n")
    env.ctl("alias", "add", "sales@example.test", "a@example.test")
    env.ctl("alias", "add", "team@example.test", "a@example.test,b@example.test")
    env.ctl("alias", "add", "bonly@example.test", "b@example.test")


def session(env):
    s = smtplib.SMTP("127.0.0.1", env.port("submission"), timeout=20)
    s.starttls(context=client_tls_context())
    s.login("a@example.test", PW)
    return s


def send(s, from_header, subject, envelope="a@example.test"):
    head = "".join(f"From: {f}\r\n" for f in ([from_header] if isinstance(from_header, str) else from_header))
    msg = f"{head}To: b@example.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
    try:
        s.sendmail(envelope, ["b@example.test"], msg)
        return 250, b""
    except smtplib.SMTPDataError as e:
        s.rset()
        return e.smtp_code, e.smtp_error
    except smtplib.SMTPSenderRefused as e:
        return e.smtp_code, e.smtp_error


def subjects(env):
    out = []
    for m in env.mailbox("b@example.test").values():
        for line in m.split(b"\r\n"):
            if line.startswith(b"Subject: "):
                out.append(line[9:].decode())
    return sorted(out)


def test_header_from_must_be_owned():
    with TernEnv() as env:
        setup(env)
        env.start("tern-mta")
        with session(env) as s:
            ok = [("a@example.test", "own"), ("A <a@example.test>", "own with name"),
                  ("a+news@example.test", "plus address"), ('"Sales" <sales@example.test>', "alias"),
                  ("team@example.test", "shared alias"), ("A@EXAMPLE.TEST", "case")]
            for f, subj in ok:
                code, text = send(s, f, subj)
                assert code == 250, (f, code, text)
            refused = [("b@example.test", "other user", b"<b@example.test> is not owned"),
                       ("Boss <boss@elsewhere.test>", "foreign", b"<boss@elsewhere.test> is not owned"),
                       ("bonly@example.test", "alias of another", b"<bonly@example.test> is not owned"),
                       ("a@example.test, b@example.test", "two mailboxes", b"<b@example.test>"),
                       (["a@example.test", "a@example.test"], "two From fields", b"More than one From"),
                       ("undisclosed:;", "empty group", b"without an address")]
            for f, subj, why in refused:
                code, text = send(s, f, subj)
                assert code == 550, (f, code, text)
                assert text.startswith(b"5.7.1") and why in text, (f, text)
                assert b"a@example.test" in text or why == b"More than one From" or b"without" in why
            # The same over BDAT LAST.
            data = b"From: b@example.test\r\nTo: b@example.test\r\nSubject: bdat\r\n\r\nbody\r\n"
            s.ehlo()
            assert s.has_extn("chunking")
            assert s.docmd("MAIL FROM:<a@example.test>")[0] == 250
            assert s.docmd("RCPT TO:<b@example.test>")[0] == 250
            s.send(f"BDAT {len(data)} LAST\r\n".encode() + data)
            code, text = s.getreply()
            assert code == 550 and b"<b@example.test> is not owned" in text, (code, text)
            s.rset()
            # No From field: nothing to impersonate, accepted.
            s.sendmail("a@example.test", ["b@example.test"], b"To: b@example.test\r\nSubject: no from\r\n\r\nx\r\n")
            # The envelope check stays as it was.
            code, text = send(s, "a@example.test", "envelope other", envelope="b@example.test")
            assert code == 553, (code, text)
            code, text = send(s, "a@example.test", "envelope null", envelope="")
            assert code == 553, (code, text)
        assert subjects(env) == sorted([subj for _, subj in ok] + ["no from"]), subjects(env)
        log = env.log("tern-mta")
        assert "header From not owned" in log, log[-2000:]


def test_check_header_from_off():
    with TernEnv(sections={"smtp": "check_header_from = false"}) as env:
        setup(env)
        env.start("tern-mta")
        with session(env) as s:
            code, text = send(s, "b@example.test", "other user allowed")
            assert code == 250, (code, text)
            code, text = send(s, "a@example.test", "envelope still checked", envelope="b@example.test")
            assert code == 553, (code, text)
        assert subjects(env) == ["other user allowed"]


if __name__ == "__main__":
    run_tests([test_header_from_must_be_owned, test_check_header_from_off])
