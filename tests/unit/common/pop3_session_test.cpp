// POP3 session state machine: states, replies and actions (no I/O).
#include <catch2/catch.hpp>

#include <string>

#include "tern/pop3/session.hpp"

using namespace tern::pop3;
using K = Action::Kind;

namespace {

SessionOptions plain_opts() {
  SessionOptions o;
  o.hostname = "mx.example.test";
  o.stls_available = true;
  o.sasl_mechanisms = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};
  return o;
}

SessionOptions tls_opts() {
  auto o = plain_opts();
  o.tls_active = true;
  return o;
}

struct Driver {
  Session s;
  std::string out;
  explicit Driver(SessionOptions o) : s(std::move(o)) {}
  Action cmd(std::string_view line) {
    out.clear();
    return s.handle_line(line, out);
  }
  void login(std::vector<MaildropMessage> md) {
    auto a = cmd("USER alice@example.test");
    REQUIRE(a.kind == K::None);
    a = cmd("PASS pw");
    REQUIRE(a.kind == K::Login);
    out.clear();
    s.on_login_ok(a.user, std::move(md), out);
    REQUIRE(s.state() == State::Transaction);
  }
};

std::vector<MaildropMessage> three() {
  return {{10, 100, "7.10"}, {11, 200, "7.11"}, {15, 300, "7.15"}};
}

}  // namespace

TEST_CASE("POP3 greeting and CAPA before and after TLS", "[pop3][session]") {
  Driver d(plain_opts());
  CHECK(d.s.greeting() == "+OK mx.example.test POP3 server ready\r\n");
  d.cmd("CAPA");
  CHECK(d.out ==
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
        "PIPELINING\r\nSTLS\r\nIMPLEMENTATION tern\r\n.\r\n");
  auto a = d.cmd("STLS");
  CHECK(a.kind == K::StartTls);
  CHECK(d.out == "+OK Begin TLS negotiation\r\n");
  d.s.on_tls_started();
  d.cmd("CAPA");
  CHECK(d.out ==
        "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
        "PIPELINING\r\nSASL PLAIN LOGIN SCRAM-SHA-256\r\nIMPLEMENTATION tern\r\n.\r\n");
  // STLS twice is refused (RFC 2595 §4).
  CHECK(d.cmd("STLS").kind == K::None);
  CHECK(d.out == "-ERR TLS already active\r\n");
}

TEST_CASE("POP3 CAPA with EXPIRE and LOGIN-DELAY", "[pop3][session]") {
  auto o = tls_opts();
  o.expire_days = 30;
  o.login_delay_secs = 60;
  Driver d(o);
  d.cmd("CAPA");
  CHECK(d.out.find("EXPIRE 30\r\n") != std::string::npos);
  CHECK(d.out.find("LOGIN-DELAY 60\r\n") != std::string::npos);
  CHECK(d.out.find("STLS") == std::string::npos);
}

TEST_CASE("POP3 plaintext auth refused before TLS unless allowed", "[pop3][session]") {
  Driver d(plain_opts());
  CHECK(d.cmd("USER a").kind == K::None);
  CHECK(d.out == "-ERR [SYS/PERM] plaintext authentication disallowed, use STLS\r\n");
  d.cmd("PASS b");
  CHECK(d.out == "-ERR [SYS/PERM] plaintext authentication disallowed, use STLS\r\n");
  d.cmd("AUTH PLAIN AGEAYg==");
  CHECK(d.out == "-ERR [SYS/PERM] plaintext authentication disallowed, use STLS\r\n");

  auto o = plain_opts();
  o.allow_plaintext_auth = true;
  Driver p(o);
  CHECK(p.cmd("USER a").kind == K::None);
  CHECK(p.out == "+OK send PASS\r\n");
  auto a = p.cmd("PASS two words");
  CHECK(a.kind == K::Login);
  CHECK(a.user == "a");
  CHECK(a.password == "two words");
  CHECK(p.out.empty());  // the driver answers after verifying
}

TEST_CASE("POP3 USER/PASS sequencing", "[pop3][session]") {
  Driver d(tls_opts());
  d.cmd("PASS x");
  CHECK(d.out == "-ERR USER first\r\n");
  d.cmd("USER a");
  d.cmd("NOOP");  // wrong state, and it forgets USER
  CHECK(d.out == "-ERR command not valid in this state\r\n");
  d.cmd("PASS x");
  CHECK(d.out == "-ERR USER first\r\n");
  d.cmd("USER a");
  auto a = d.cmd("PASS x");
  REQUIRE(a.kind == K::Login);
  d.out.clear();
  auto f = d.s.on_login_failed(RespCode::Auth, "authentication failed", d.out);
  CHECK(f.kind == K::None);
  CHECK(d.out == "-ERR [AUTH] authentication failed\r\n");
  CHECK(d.s.state() == State::Authorization);
  // PASS again without USER after a failure.
  d.cmd("PASS x");
  CHECK(d.out == "-ERR USER first\r\n");
}

TEST_CASE("POP3 AUTH: mechanism list, unknown mechanism, initial response", "[pop3][session]") {
  Driver d(tls_opts());
  d.cmd("AUTH");
  CHECK(d.out == "+OK supported mechanisms follow\r\nPLAIN\r\nLOGIN\r\nSCRAM-SHA-256\r\n.\r\n");
  d.cmd("AUTH CRAM-MD5");
  CHECK(d.out == "-ERR unsupported authentication mechanism\r\n");
  auto a = d.cmd("AUTH plain AHUAcA==");
  CHECK(a.kind == K::Authenticate);
  CHECK(a.mechanism == "PLAIN");
  CHECK(a.initial_response == std::optional<std::string>("AHUAcA=="));
  auto b = d.cmd("AUTH LOGIN");
  CHECK(b.kind == K::Authenticate);
  CHECK_FALSE(b.initial_response);
}

TEST_CASE("POP3 wrong-state commands", "[pop3][session]") {
  Driver d(tls_opts());
  for (auto c : {"STAT", "LIST", "UIDL", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1"}) {
    d.cmd(c);
    CHECK(d.out == "-ERR command not valid in this state\r\n");
  }
  Driver t(tls_opts());
  t.login(three());
  for (auto c : {"USER a", "PASS b", "AUTH PLAIN", "STLS"}) {
    t.cmd(c);
    CHECK(t.out == "-ERR command not valid in this state\r\n");
  }
}

TEST_CASE("POP3 TRANSACTION: STAT LIST UIDL RETR TOP", "[pop3][session]") {
  Driver d(tls_opts());
  d.login(three());
  CHECK(d.cmd("STAT").kind == K::None);
  CHECK(d.out == "+OK 3 600\r\n");
  d.cmd("LIST");
  CHECK(d.out == "+OK 3 messages (600 octets)\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n");
  d.cmd("LIST 2");
  CHECK(d.out == "+OK 2 200\r\n");
  d.cmd("UIDL");
  CHECK(d.out == "+OK unique-id listing follows\r\n1 7.10\r\n2 7.11\r\n3 7.15\r\n.\r\n");
  d.cmd("UIDL 3");
  CHECK(d.out == "+OK 3 7.15\r\n");
  auto r = d.cmd("RETR 2");
  CHECK(r.kind == K::Retrieve);
  CHECK(r.uid == 11);
  CHECK(r.index == 1);
  CHECK_FALSE(r.top_lines);
  CHECK(d.out == "+OK 200 octets\r\n");
  auto t = d.cmd("TOP 3 5");
  CHECK(t.kind == K::Retrieve);
  CHECK(t.uid == 15);
  CHECK(t.top_lines == std::optional<std::uint64_t>(5));
  CHECK(d.out == "+OK top of message follows\r\n");
  d.cmd("NOOP");
  CHECK(d.out == "+OK\r\n");
}

TEST_CASE("POP3 bad message numbers", "[pop3][session]") {
  Driver d(tls_opts());
  d.login(three());
  for (auto c : {"RETR 0", "RETR 4", "LIST 99", "UIDL 0", "DELE 4", "TOP 4 0",
                 "RETR 9999999999999999999"}) {
    CHECK(d.cmd(c).kind == K::None);
    CHECK(d.out == "-ERR no such message\r\n");
  }
  d.cmd("RETR x");
  CHECK(d.out == "-ERR invalid number\r\n");
}

TEST_CASE("POP3 DELE marks, RSET unmarks, QUIT lists deletions", "[pop3][session]") {
  Driver d(tls_opts());
  d.login(three());
  d.cmd("DELE 2");
  CHECK(d.out == "+OK message 2 deleted\r\n");
  d.cmd("DELE 2");
  CHECK(d.out == "-ERR message 2 already deleted\r\n");
  d.cmd("RETR 2");
  CHECK(d.out == "-ERR message 2 already deleted\r\n");
  d.cmd("LIST 2");
  CHECK(d.out == "-ERR message 2 already deleted\r\n");
  d.cmd("STAT");
  CHECK(d.out == "+OK 2 400\r\n");
  d.cmd("LIST");
  CHECK(d.out == "+OK 2 messages (400 octets)\r\n1 100\r\n3 300\r\n.\r\n");
  d.cmd("UIDL");
  CHECK(d.out == "+OK unique-id listing follows\r\n1 7.10\r\n3 7.15\r\n.\r\n");
  d.cmd("RSET");
  CHECK(d.out == "+OK maildrop has 3 messages (600 octets)\r\n");
  d.cmd("STAT");
  CHECK(d.out == "+OK 3 600\r\n");

  d.cmd("DELE 1");
  d.cmd("DELE 3");
  auto q = d.cmd("QUIT");
  CHECK(q.kind == K::Update);
  CHECK(q.deletions == std::vector<std::uint32_t>{10, 15});
  CHECK(d.out.empty());
  CHECK(d.s.state() == State::Update);
  d.out.clear();
  d.s.on_update_done(true, d.out);
  CHECK(d.out == "+OK mx.example.test POP3 server signing off (2 messages deleted)\r\n");
  CHECK(d.s.state() == State::Closed);
  CHECK(d.cmd("NOOP").kind == K::Close);
}

TEST_CASE("POP3 UPDATE failure and QUIT without deletions", "[pop3][session]") {
  Driver d(tls_opts());
  d.login(three());
  d.cmd("DELE 1");
  auto q = d.cmd("QUIT");
  REQUIRE(q.kind == K::Update);
  d.out.clear();
  d.s.on_update_done(false, d.out);
  CHECK(d.out == "-ERR [SYS/TEMP] some deleted messages not removed\r\n");

  Driver e(tls_opts());
  e.login(three());
  auto q2 = e.cmd("QUIT");
  CHECK(q2.kind == K::Update);
  CHECK(q2.deletions.empty());

  Driver f(tls_opts());
  auto q3 = f.cmd("QUIT");  // AUTHORIZATION: no UPDATE state
  CHECK(q3.kind == K::Close);
  CHECK(f.out == "+OK mx.example.test POP3 server signing off\r\n");
}

TEST_CASE("POP3 login snapshot: empty maildrop", "[pop3][session]") {
  Driver d(tls_opts());
  d.cmd("USER a");
  auto a = d.cmd("PASS b");
  d.out.clear();
  d.s.on_login_ok(a.user, {}, d.out);
  CHECK(d.out == "+OK logged in, 0 messages (0 octets)\r\n");
  d.cmd("LIST");
  CHECK(d.out == "+OK 0 messages (0 octets)\r\n.\r\n");
  d.cmd("RETR 1");
  CHECK(d.out == "-ERR no such message\r\n");
}

TEST_CASE("POP3 error limit closes the session", "[pop3][session]") {
  auto o = tls_opts();
  o.error_limit = 3;
  Driver d(o);
  CHECK(d.cmd("BOGUS").kind == K::None);
  CHECK(d.out == "-ERR unknown command\r\n");
  CHECK(d.s.handle_too_long(d.out).kind == K::None);
  d.out.clear();
  auto a = d.cmd("\x01\x02");
  CHECK(a.kind == K::Close);
  CHECK(d.out == "-ERR [SYS/PERM] too many errors, closing connection\r\n");
  CHECK(d.s.state() == State::Closed);
}

TEST_CASE("POP3 parse errors become -ERR lines", "[pop3][session]") {
  Driver d(tls_opts());
  d.cmd("");
  CHECK(d.out == "-ERR empty command\r\n");
  d.cmd("RETR");
  CHECK(d.out == "-ERR missing argument\r\n");
  d.cmd("STAT 1");
  CHECK(d.out == "-ERR too many arguments\r\n");
  CHECK(d.s.errors() == 3);
}
