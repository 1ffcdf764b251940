// SMTP command parser: tables of inputs and expected commands or replies, plus the
// golden file tests/data/smtp/commands.in -> commands.ref.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "tern/smtp/command.hpp"

using namespace tern::smtp;

namespace {

const SmtpCommand& ok(const ParseResult& r) {
  if (auto* e = std::get_if<ParseError>(&r)) FAIL("unexpected error: " << reply_for(*e).summary());
  return std::get<SmtpCommand>(r);
}

std::string err_summary(const ParseResult& r) {
  auto* e = std::get_if<ParseError>(&r);
  if (!e) return "OK";
  auto rep = reply_for(*e);
  return std::to_string(rep.code) + " " + rep.esc;
}

// One line describing a parse result, for the golden file.
std::string describe(const ParseResult& r) {
  if (auto* e = std::get_if<ParseError>(&r)) return "ERR " + reply_for(*e).summary();
  const auto& c = std::get<SmtpCommand>(r);
  std::ostringstream o;
  o << verb_name(c.verb);
  switch (c.verb) {
    case Verb::Helo: case Verb::Ehlo: o << " domain=" << c.domain; break;
    case Verb::Mail: case Verb::Rcpt:
      o << " path=<" << c.path.address() << ">";
      if (c.path.utf8) o << " utf8";
      if (c.mail.size) o << " size=" << *c.mail.size;
      if (c.mail.body == Body::SevenBit) o << " body=7bit";
      if (c.mail.body == Body::EightBitMime) o << " body=8bitmime";
      if (c.mail.smtputf8) o << " smtputf8";
      if (c.mail.ret == Ret::Full) o << " ret=full";
      if (c.mail.ret == Ret::Hdrs) o << " ret=hdrs";
      if (!c.mail.envid.empty()) o << " envid=" << c.mail.envid;
      if (c.mail.auth) o << " auth=" << *c.mail.auth;
      if (c.rcpt.notify) o << " notify=" << c.rcpt.notify;
      if (!c.rcpt.orcpt.empty()) o << " orcpt=" << c.rcpt.orcpt;
      break;
    case Verb::Bdat: o << " size=" << c.bdat_size << (c.bdat_last ? " last" : ""); break;
    case Verb::Auth: o << " mech=" << c.auth_mechanism << (c.auth_initial ? " ir=" + *c.auth_initial : ""); break;
    default: if (!c.argument.empty()) o << " arg=" << c.argument;
  }
  return o.str();
}

}  // namespace

TEST_CASE("SMTP verbs are case-insensitive and typed", "[smtp][parser]") {
  CHECK(ok(parse_smtp_command("ehlo client.example")).verb == Verb::Ehlo);
  CHECK(ok(parse_smtp_command("HeLo x")).domain == "x");
  CHECK(ok(parse_smtp_command("DATA")).verb == Verb::Data);
  CHECK(ok(parse_smtp_command("data ")).verb == Verb::Data);
  CHECK(ok(parse_smtp_command("QUIT")).verb == Verb::Quit);
  CHECK(ok(parse_smtp_command("noop hello")).argument == "hello");
  CHECK(ok(parse_smtp_command("StartTLS")).verb == Verb::Starttls);
  CHECK(err_summary(parse_smtp_command("FOO bar")) == "500 5.5.1");
  CHECK(err_summary(parse_smtp_command("")) == "500 5.5.1");
  CHECK(err_summary(parse_smtp_command("EHLO")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("DATA x")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("QUIT now")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("VRFY")) == "501 5.5.2");
}

TEST_CASE("MAIL FROM paths and parameters", "[smtp][parser]") {
  struct Row { const char* in; const char* expect; };
  const Row rows[] = {
      {"MAIL FROM:<a@b.example>", "OK"},
      {"MAIL FROM: <a@b.example>", "OK"},  // tolerated space
      {"mail from:<>", "OK"},
      {"MAIL FROM:<a@b.example> SIZE=1000", "OK"},
      {"MAIL FROM:<a@b.example> SIZE=abc", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> SIZE=", "501 5.5.2"},
      {"MAIL FROM:<a@b.example> SIZE=1 SIZE=2", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> BODY=8BITMIME", "OK"},
      {"MAIL FROM:<a@b.example> BODY=BINARYMIME", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> FOO=bar", "555 5.5.4"},
      {"MAIL FROM:<a@b.example> NOTIFY=NEVER", "555 5.5.4"},  // RCPT-only parameter
      {"MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", "OK"},
      {"MAIL FROM:<a@b.example> RET=MAYBE", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID=a+zz", "501 5.5.4"},
      // A decoded CR/LF (or any control) would reach the next hop's MAIL command.
      {"MAIL FROM:<a@b.example> ENVID=x+0D+0ARCPT+20TO:<v@evil.test>", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID=x+00", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID=x+7F", "501 5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID=a+20b", "OK"},  // printable incl. space (RFC 3461 4.4)
      {"MAIL FROM:<a@b.example> AUTH=<>", "OK"},
      {"MAIL FROM:<a@b.example> SMTPUTF8", "OK"},
      {"MAIL FROM:<a@b.example> SMTPUTF8=yes", "501 5.5.4"},
      {"MAIL FROM:a@b.example", "501 5.1.7"},
      {"MAIL FROM:<a@b.example", "501 5.1.7"},
      {"MAIL FROM:<a b@c>", "501 5.1.7"},
      {"MAIL FROM:<@b.example>", "501 5.1.7"},
      {"MAIL FROM:<a@>", "501 5.1.7"},
      {"MAIL FROM:<a..b@c>", "501 5.1.7"},
      {"MAIL FROM:<.a@c>", "501 5.1.7"},
      {"MAIL FROM:<a@-c.example>", "501 5.1.7"},
      {"MAIL FROM:<a@c_d.example>", "501 5.1.7"},
      {"MAIL FROM:<\"a b\"@c.example>", "OK"},
      {"MAIL FROM:<\"a\\\"b\"@c.example>", "OK"},
      {"MAIL FROM:<a@[127.0.0.1]>", "OK"},
      {"MAIL FROM:<a@[IPv6:::1]>", "OK"},
      {"MAIL FROM:<a@[300.0.0.1]>", "501 5.1.7"},
      {"MAIL FROM:<@relay.example,@r2.example:a@b.example>", "OK"},
      {"MAIL FROM:<@relay..example:a@b.example>", "501 5.1.7"},
      {"MAIL FROM:<a@b.example>x", "501 5.5.2"},
      {"MAIL TO:<a@b.example>", "501 5.5.2"},
      {"MAIL", "501 5.5.2"},
      {"MAIL FROM:<Postmaster>", "501 5.1.7"},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    CHECK(err_summary(parse_smtp_command(r.in)) == r.expect);
  }
  auto c = ok(parse_smtp_command("MAIL FROM:<@relay.example:Joe@B.example> SIZE=12345 BODY=7bit RET=FULL ENVID=x+2By AUTH=joe+40b.example"));
  CHECK(c.path.local == "Joe");
  CHECK(c.path.domain == "B.example");
  CHECK(c.mail.size == 12345u);
  CHECK(c.mail.body == Body::SevenBit);
  CHECK(c.mail.ret == Ret::Full);
  CHECK(c.mail.envid == "x+y");
  CHECK(c.mail.auth == "joe@b.example");
  CHECK(ok(parse_smtp_command("MAIL FROM:<>")).path.null);
}

TEST_CASE("RCPT TO paths, Postmaster and DSN parameters", "[smtp][parser]") {
  auto c = ok(parse_smtp_command("RCPT TO:<user+tag@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user+2Btag@example.test"));
  CHECK(c.path.address() == "user+tag@example.test");
  CHECK(c.rcpt.notify == (notify_success | notify_failure));
  CHECK(c.rcpt.orcpt == "rfc822;user+2Btag@example.test");
  CHECK(ok(parse_smtp_command("RCPT TO:<postmaster>")).path.postmaster);
  CHECK(err_summary(parse_smtp_command("RCPT TO:<>")) == "501 5.1.3");
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS")) == "501 5.5.4");
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@b> NOTIFY=SOMETIMES")) == "501 5.5.4");
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@b> ORCPT=rfc822")) == "501 5.5.4");
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@b> SIZE=10")) == "555 5.5.4");
  CHECK(err_summary(parse_smtp_command("RCPT TO:a@b")) == "501 5.1.3");
}

TEST_CASE("address length limits (RFC 5321 4.5.3.1)", "[smtp][parser]") {
  std::string local64(64, 'a'), local65(65, 'a');
  CHECK(err_summary(parse_smtp_command("RCPT TO:<" + local64 + "@example.test>")) == "OK");
  CHECK(err_summary(parse_smtp_command("RCPT TO:<" + local65 + "@example.test>")) == "501 5.1.3");
  std::string label(63, 'd');
  std::string domain = label + "." + label + "." + label + "." + std::string(58, 'e');  // 250
  CHECK(domain.size() == 250);
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@" + domain + ">")) == "OK");
  std::string label64(64, 'x');
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a@" + label64 + ".example>")) == "501 5.1.3");
  // Path over 256 octets with brackets.
  std::string long_domain = label + "." + label + "." + label + "." + label;  // 255
  CHECK(err_summary(parse_smtp_command("RCPT TO:<" + local64 + "@" + long_domain + ">")) == "501 5.1.3");
}

TEST_CASE("UTF-8 addresses (RFC 6531) and bad octets", "[smtp][parser]") {
  auto c = ok(parse_smtp_command("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc\x63her.example> SMTPUTF8"));
  CHECK(c.path.utf8);
  CHECK(c.mail.smtputf8);
  CHECK(ok(parse_smtp_command("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.test>")).path.utf8);
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a\xc3@example.test>")) == "501 5.1.3");       // truncated
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a\xc0\xaf@example.test>")) == "501 5.1.3");   // overlong
  CHECK(err_summary(parse_smtp_command("RCPT TO:<a\xed\xa0\x80@example.test>")) == "501 5.1.3"); // surrogate
  CHECK(err_summary(parse_smtp_command(std::string("MAIL FROM:<a@b>\0", 16))) == "500 5.5.2");
  CHECK(err_summary(parse_smtp_command("EHLO h\xc3\xa9llo")) == "500 5.5.2");
  CHECK(err_summary(parse_smtp_command("NOOP \x01")) == "500 5.5.2");
  CHECK(err_summary(parse_smtp_command("HELO a\x7f")) == "500 5.5.2");
}

TEST_CASE("BDAT and AUTH syntax", "[smtp][parser]") {
  auto b = ok(parse_smtp_command("BDAT 1000"));
  CHECK(b.bdat_size == 1000);
  CHECK_FALSE(b.bdat_last);
  auto l = ok(parse_smtp_command("bdat 0 last"));
  CHECK(l.bdat_last);
  CHECK(l.bdat_size == 0);
  CHECK(err_summary(parse_smtp_command("BDAT")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("BDAT -1")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("BDAT 10 FIRST")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("BDAT 99999999999999999999999")) == "501 5.5.2");
  auto a = ok(parse_smtp_command("AUTH plain AGEAYg=="));
  CHECK(a.auth_mechanism == "PLAIN");
  CHECK(a.auth_initial == "AGEAYg==");
  CHECK_FALSE(ok(parse_smtp_command("AUTH LOGIN")).auth_initial.has_value());
  CHECK(ok(parse_smtp_command("AUTH SCRAM-SHA-256 =")).auth_initial == "=");
  CHECK(err_summary(parse_smtp_command("AUTH")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("AUTH PLAIN a b")) == "501 5.5.2");
  CHECK(err_summary(parse_smtp_command("AUTH PL/AIN")) == "501 5.5.2");
}

TEST_CASE("xtext round trip (RFC 3461 4)", "[smtp][parser]") {
  CHECK(xtext_decode("a+2Bb+3Dc") == std::optional<std::string>("a+b=c"));
  CHECK_FALSE(xtext_decode("a+2b").has_value());  // lower-case hex is not xtext
  CHECK_FALSE(xtext_decode("a+2").has_value());
  CHECK_FALSE(xtext_decode("a=b").has_value());
  CHECK(xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d");
  CHECK(xtext_decode(xtext_encode("any \x01 thing+=")) == std::optional<std::string>("any \x01 thing+="));
}

TEST_CASE("golden file: commands.in -> commands.ref", "[smtp][parser][golden]") {
  std::ifstream in(std::string(TERN_TEST_DATA) + "/smtp/commands.in");
  std::ifstream ref(std::string(TERN_TEST_DATA) + "/smtp/commands.ref");
  REQUIRE(in.good());
  REQUIRE(ref.good());
  std::string line, expected;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    REQUIRE(std::getline(ref, expected));
    INFO("input: " << line);
    CHECK(describe(parse_smtp_command(line)) == expected);
    ++n;
  }
  CHECK(n > 20);
}
