// ClientSession: the outbound SMTP client state machine, driven by scripted replies.
#include "smtp_client/session.hpp"

#include <catch2/catch.hpp>

#include "tern/smtp/reply_parser.hpp"

using namespace tern::mta::client;
using tern::smtp::Reply;

namespace {
Reply R(const std::string& text) {
  auto r = tern::smtp::parse_reply(text);
  REQUIRE(r.status == tern::smtp::ReplyParser::Status::Reply);
  return r.reply;
}
Policy policy(TlsPolicy tls = TlsPolicy::may) {
  Policy p;
  p.helo_name = "mx.example.test";
  p.tls = tls;
  return p;
}
Envelope env2() {
  Envelope e;
  e.mail_from = "a@example.test";
  e.rcpts = {{"x@remote.test", "", ""}, {"y@remote.test", "SUCCESS,FAILURE", "rfc822;y+1@remote.test"}};
  e.size = 100;
  return e;
}
const char* kEhloFull =
    "250-mx.remote.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-DSN\r\n"
    "250-STARTTLS\r\n250 SMTPUTF8\r\n";
}  // namespace

TEST_CASE("STARTTLS, then a pipelined message with one refused recipient", "[smtp_client]") {
  ClientSession s(policy());
  CHECK(s.on_connected().kind == Action::wait);
  auto a = s.on_reply(R("220 mx.remote.test ESMTP\r\n"));
  REQUIRE(a.kind == Action::send);
  CHECK(a.bytes == "EHLO mx.example.test\r\n");
  a = s.on_reply(R(kEhloFull));
  REQUIRE(a.kind == Action::send);
  CHECK(a.bytes == "STARTTLS\r\n");
  a = s.on_reply(R("220 2.0.0 Ready to start TLS\r\n"));
  REQUIRE(a.kind == Action::start_tls);
  a = s.on_tls_done(true);
  REQUIRE(a.kind == Action::send);
  CHECK(a.bytes == "EHLO mx.example.test\r\n");
  CHECK_FALSE(s.extensions().esmtp);  // forgotten after TLS
  a = s.on_reply(R("250-mx.remote.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 DSN\r\n"));
  REQUIRE(a.kind == Action::ready);
  CHECK(s.tls_active());
  a = s.start_message(env2());
  REQUIRE(a.kind == Action::send);
  CHECK(a.bytes ==
        "MAIL FROM:<a@example.test> SIZE=100\r\n"
        "RCPT TO:<x@remote.test>\r\n"
        "RCPT TO:<y@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;y+2B1@remote.test\r\n"
        "DATA\r\n");
  CHECK(s.on_reply(R("250 2.1.0 Ok\r\n")).kind == Action::wait);
  CHECK(s.on_reply(R("550 5.1.1 <x@remote.test>: no such user\r\n")).kind == Action::wait);
  CHECK(s.on_reply(R("250 2.1.5 Ok\r\n")).kind == Action::wait);
  a = s.on_reply(R("354 End data with <CR><LF>.<CR><LF>\r\n"));
  REQUIRE(a.kind == Action::send_body);
  CHECK_FALSE(a.bdat);
  CHECK(s.wait_timeout() == std::chrono::minutes(10));
  a = s.on_reply(R("250 2.0.0 Ok: queued as ABC\r\n"));
  REQUIRE(a.kind == Action::message_done);
  const auto& res = s.message_result();
  REQUIRE(res.rcpt.size() == 2);
  CHECK(res.rcpt[0].code == 550);
  CHECK(res.rcpt[1].code == 250);
  CHECK(res.rcpt[1].lines[0] == "Ok: queued as ABC");
  CHECK_FALSE(res.dsn_relayed);
  CHECK(s.ready());
  a = s.quit();
  CHECK(a.bytes == "QUIT\r\n");
  CHECK(s.on_reply(R("221 2.0.0 Bye\r\n")).kind == Action::close);
  CHECK(s.failure().empty());
}

TEST_CASE("no PIPELINING: one command at a time; CHUNKING uses BDAT", "[smtp_client]") {
  ClientSession s(policy(TlsPolicy::none));
  s.on_connected();
  s.on_reply(R("220 hi\r\n"));
  auto a = s.on_reply(R("250-mx\r\n250-CHUNKING\r\n250 STARTTLS\r\n"));
  REQUIRE(a.kind == Action::ready);  // tls none: STARTTLS ignored
  auto e = env2();
  a = s.start_message(e);
  CHECK(a.bytes == "MAIL FROM:<a@example.test>\r\n");
  a = s.on_reply(R("250 ok\r\n"));
  CHECK(a.bytes == "RCPT TO:<x@remote.test>\r\n");  // no DSN offered: no NOTIFY
  a = s.on_reply(R("250 ok\r\n"));
  CHECK(a.bytes == "RCPT TO:<y@remote.test>\r\n");
  a = s.on_reply(R("451 4.3.0 later\r\n"));
  REQUIRE(a.kind == Action::send_body);
  CHECK(a.bdat);
  CHECK(a.bytes == "BDAT 100 LAST\r\n");
  a = s.on_reply(R("250 2.0.0 ok\r\n"));
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[0].code == 250);
  CHECK(s.message_result().rcpt[1].code == 451);
  CHECK(s.message_result().dsn_relayed);  // NOTIFY asked, peer lacks DSN
}

TEST_CASE("every recipient refused: RSET, next message on the same connection", "[smtp_client]") {
  ClientSession s(policy(TlsPolicy::none));
  s.on_connected();
  s.on_reply(R("220 hi\r\n"));
  s.on_reply(R("250-mx\r\n250 PIPELINING\r\n"));
  s.start_message(env2());
  s.on_reply(R("250 ok\r\n"));
  s.on_reply(R("550 no\r\n"));
  s.on_reply(R("550 no\r\n"));
  auto a = s.on_reply(R("554 5.5.1 no valid recipients\r\n"));
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[0].code == 550);
  CHECK(s.message_result().rcpt[1].code == 550);
  REQUIRE(s.ready());
  a = s.start_message(env2());
  REQUIRE(a.kind == Action::send);
  // MAIL refused: both get its reply; the pipelined 503s are drained.
  s.on_reply(R("452 4.3.1 full\r\n"));
  s.on_reply(R("503 5.5.1 no MAIL\r\n"));
  s.on_reply(R("503 5.5.1 no MAIL\r\n"));
  a = s.on_reply(R("503 5.5.1 no MAIL\r\n"));
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[0].code == 452);
  CHECK(s.message_result().rcpt[1].code == 452);
  CHECK(s.ready());
}

TEST_CASE("EHLO refused falls back to HELO", "[smtp_client]") {
  ClientSession s(policy());
  s.on_connected();
  s.on_reply(R("220 old\r\n"));
  auto a = s.on_reply(R("502 5.5.2 what\r\n"));
  CHECK(a.bytes == "HELO mx.example.test\r\n");
  CHECK(s.on_reply(R("250 old\r\n")).kind == Action::ready);
  CHECK_FALSE(s.extensions().esmtp);
  auto e = env2();
  e.needs_8bitmime = true;
  a = s.start_message(e);  // no 8BITMIME: refused before MAIL
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[0].code == 554);
  CHECK(s.message_result().rcpt[0].esc == "5.6.3");
  CHECK(s.ready());
}

TEST_CASE("message larger than the peer's SIZE; SMTPUTF8 missing", "[smtp_client]") {
  ClientSession s(policy(TlsPolicy::none));
  s.on_connected();
  s.on_reply(R("220 hi\r\n"));
  s.on_reply(R("250-mx\r\n250 SIZE 50\r\n"));
  auto a = s.start_message(env2());
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[0].esc == "5.3.4");
  auto e = env2();
  e.size = 10;
  e.needs_smtputf8 = true;
  a = s.start_message(e);
  REQUIRE(a.kind == Action::message_done);
  CHECK(s.message_result().rcpt[1].esc == "5.6.7");
}

TEST_CASE("tls required: missing STARTTLS or refused STARTTLS fail temporarily", "[smtp_client]") {
  {
    ClientSession s(policy(TlsPolicy::required));
    s.on_connected();
    s.on_reply(R("220 hi\r\n"));
    CHECK(s.on_reply(R("250-mx\r\n250 PIPELINING\r\n")).kind == Action::close);
    CHECK(s.failure().temporary());
  }
  {
    ClientSession s(policy(TlsPolicy::required));
    s.on_connected();
    s.on_reply(R("220 hi\r\n"));
    s.on_reply(R("250-mx\r\n250 STARTTLS\r\n"));
    CHECK(s.on_reply(R("454 4.7.0 TLS not available\r\n")).kind == Action::close);
    CHECK(s.failure().temporary());
  }
  {
    ClientSession s(policy(TlsPolicy::required));
    s.on_connected();
    s.on_reply(R("220 hi\r\n"));
    s.on_reply(R("250-mx\r\n250 STARTTLS\r\n"));
    REQUIRE(s.on_reply(R("220 go\r\n")).kind == Action::start_tls);
    CHECK(s.on_tls_done(false, "certificate verify failed").kind == Action::close);
    CHECK(s.failure().temporary());
    CHECK(s.failure().summary().find("certificate verify failed") != std::string::npos);
  }
}

TEST_CASE("opportunistic TLS: STARTTLS refused goes on in clear", "[smtp_client]") {
  ClientSession s(policy(TlsPolicy::may));
  s.on_connected();
  s.on_reply(R("220 hi\r\n"));
  s.on_reply(R("250-mx\r\n250 STARTTLS\r\n"));
  CHECK(s.on_reply(R("454 4.7.0 no\r\n")).kind == Action::ready);
  CHECK_FALSE(s.tls_active());
}

TEST_CASE("AUTH PLAIN and LOGIN to a smarthost; 535 is permanent", "[smtp_client]") {
  auto p = policy(TlsPolicy::required);
  p.implicit_tls = true;
  p.auth_user = "u@relay.test";
  p.auth_password = "pw";
  {
    ClientSession s(p);
    s.on_connected();
    s.on_reply(R("220 relay\r\n"));
    auto a = s.on_reply(R("250-relay\r\n250 AUTH LOGIN PLAIN\r\n"));
    CHECK(a.bytes == "AUTH PLAIN AHVAcmVsYXkudGVzdABwdw==\r\n");
    CHECK(s.on_reply(R("235 2.7.0 ok\r\n")).kind == Action::ready);
  }
  {
    ClientSession s(p);
    s.on_connected();
    s.on_reply(R("220 relay\r\n"));
    auto a = s.on_reply(R("250-relay\r\n250 AUTH LOGIN\r\n"));
    CHECK(a.bytes == "AUTH LOGIN\r\n");
    a = s.on_reply(R("334 VXNlcm5hbWU6\r\n"));
    CHECK(a.bytes == "dUByZWxheS50ZXN0\r\n");
    a = s.on_reply(R("334 UGFzc3dvcmQ6\r\n"));
    CHECK(a.bytes == "cHc=\r\n");
    CHECK(s.on_reply(R("535 5.7.8 bad credentials\r\n")).kind == Action::close);
    CHECK(s.failure_permanent());
    CHECK(s.failure().summary().find("refused authentication") != std::string::npos);
  }
  {
    // A 4xx to AUTH (the provider's backend failing) ends the session temporarily:
    // the messages are deferred, not bounced.
    ClientSession s(p);
    s.on_connected();
    s.on_reply(R("220 relay\r\n"));
    s.on_reply(R("250-relay\r\n250 AUTH PLAIN\r\n"));
    CHECK(s.on_reply(R("454 4.7.0 Temporary authentication failure\r\n")).kind == Action::close);
    CHECK_FALSE(s.failure_permanent());
    CHECK(s.failure().code == 454);
  }
}

TEST_CASE("421 mid-transaction fails the unfinished recipients", "[smtp_client]") {
  ClientSession s(policy(TlsPolicy::none));
  s.on_connected();
  s.on_reply(R("220 hi\r\n"));
  s.on_reply(R("250-mx\r\n250 PIPELINING\r\n"));
  s.start_message(env2());
  s.on_reply(R("250 ok\r\n"));
  CHECK(s.on_reply(R("421 4.3.2 shutting down\r\n")).kind == Action::close);
  CHECK(s.message_result().rcpt[0].code == 421);
  CHECK(s.message_result().rcpt[1].code == 421);
  CHECK(s.state() == ClientSession::State::closed);
}

TEST_CASE("DSN parameters go out as xtext: ENVID encoded once, ORCPT as received", "[smtp_client]") {
  // The queue keeps ENVID decoded and ORCPT as the client gave it (xtext). Whatever a
  // stored value holds, the MAIL and RCPT commands stay one line each.
  ClientSession s(policy(TlsPolicy::none));
  s.on_connected();
  s.on_reply(R("220 mx.remote.test ESMTP\r\n"));
  REQUIRE(s.on_reply(R("250-mx.remote.test\r\n250-PIPELINING\r\n250 DSN\r\n")).kind == Action::ready);
  Envelope e;
  e.mail_from = "a@example.test";
  e.envid = "a b+c=d\r\nRSET";
  e.ret = "HDRS";
  e.rcpts = {{"x@remote.test", "FAILURE", "rfc822;x+2Btag@example.test"},
             {"y@remote.test", "", "rfc822;y@ex\r\nample"},   // not xtext: encoded
             {"z@remote.test", "", "rfc 822;z@example.test"}};  // bad addr-type: dropped
  auto a = s.start_message(e);
  REQUIRE(a.kind == Action::send);
  CHECK(a.bytes ==
        "MAIL FROM:<a@example.test> RET=HDRS ENVID=a+20b+2Bc+3Dd+0D+0ARSET\r\n"
        "RCPT TO:<x@remote.test> NOTIFY=FAILURE ORCPT=rfc822;x+2Btag@example.test\r\n"
        "RCPT TO:<y@remote.test> ORCPT=rfc822;y@ex+0D+0Aample\r\n"
        "RCPT TO:<z@remote.test>\r\n"
        "DATA\r\n");
}
