// POP3 command parser: table of inputs and their parse (RFC 1939 §3, RFC 2449, RFC 5034).
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "tern/pop3/command.hpp"

using namespace tern::pop3;

namespace {

Command must_parse(std::string_view line) {
  auto r = parse_command(line);
  INFO("line: " << std::string(line));
  REQUIRE(std::holds_alternative<Command>(r));
  return std::get<Command>(r);
}

ParseError must_fail(std::string_view line) {
  auto r = parse_command(line);
  INFO("line: " << std::string(line));
  REQUIRE(std::holds_alternative<ParseError>(r));
  return std::get<ParseError>(r);
}

}  // namespace

TEST_CASE("POP3 commands without arguments", "[pop3][parser]") {
  struct Row {
    const char* line;
    Verb verb;
  };
  const Row rows[] = {
      {"STAT", Verb::Stat}, {"stat", Verb::Stat}, {"NoOp", Verb::Noop},
      {"RSET", Verb::Rset}, {"QUIT", Verb::Quit}, {"CAPA", Verb::Capa},
      {"STLS", Verb::Stls}, {"LIST", Verb::List}, {"UIDL", Verb::Uidl},
      {"STAT ", Verb::Stat},  // trailing space tolerated
      {"AUTH", Verb::Auth},
  };
  for (const auto& r : rows) {
    auto c = must_parse(r.line);
    CHECK(c.verb == r.verb);
    CHECK_FALSE(c.msg);
    CHECK(c.arg.empty());
  }
}

TEST_CASE("POP3 commands with message numbers", "[pop3][parser]") {
  struct Row {
    const char* line;
    Verb verb;
    std::uint64_t msg;
  };
  const Row rows[] = {
      {"LIST 1", Verb::List, 1},     {"UIDL 42", Verb::Uidl, 42},
      {"RETR 7", Verb::Retr, 7},     {"dele 3", Verb::Dele, 3},
      {"RETR 0", Verb::Retr, 0},     {"RETR 007", Verb::Retr, 7},
      {"RETR  9", Verb::Retr, 9},    {"DELE 4294967296", Verb::Dele, 4294967296ull},
      {"LIST 9999999999999999999", Verb::List, 9999999999999999999ull},
  };
  for (const auto& r : rows) {
    auto c = must_parse(r.line);
    CHECK(c.verb == r.verb);
    REQUIRE(c.msg);
    CHECK(*c.msg == r.msg);
  }
  auto top = must_parse("TOP 2 10");
  CHECK(top.verb == Verb::Top);
  CHECK(*top.msg == 2);
  CHECK(top.lines == 10);
  auto top0 = must_parse("top 1 0");
  CHECK(top0.lines == 0);
}

TEST_CASE("POP3 USER, PASS and AUTH arguments", "[pop3][parser]") {
  auto u = must_parse("USER alice@example.test");
  CHECK(u.verb == Verb::User);
  CHECK(u.arg == "alice@example.test");

  // RFC 1939 §7: spaces may be part of the password; everything after "PASS ".
  auto p = must_parse("PASS  secret with spaces ");
  CHECK(p.verb == Verb::Pass);
  CHECK(p.arg == " secret with spaces ");
  CHECK(must_parse("pass x").arg == "x");
  CHECK(must_parse("PASS p\xC3\xA4ss").arg == "p\xC3\xA4ss");  // UTF-8 allowed

  auto a = must_parse("AUTH plain dGVzdAB0ZXN0AHRlc3Q=");
  CHECK(a.verb == Verb::Auth);
  CHECK(a.arg == "PLAIN");
  REQUIRE(a.initial_response);
  CHECK(*a.initial_response == "dGVzdAB0ZXN0AHRlc3Q=");
  auto a2 = must_parse("AUTH SCRAM-SHA-256");
  CHECK(a2.arg == "SCRAM-SHA-256");
  CHECK_FALSE(a2.initial_response);
  auto a3 = must_parse("AUTH PLAIN =");
  CHECK(*a3.initial_response == "=");
}

TEST_CASE("POP3 parse errors", "[pop3][parser]") {
  struct Row {
    const char* line;
    ParseError err;
  };
  const Row rows[] = {
      {"", ParseError::Empty},
      {"HELO", ParseError::UnknownCommand},
      {"APOP mrose c4c9334bac560ecc979e58001b3e22fb", ParseError::UnknownCommand},
      {"RETRX 1", ParseError::UnknownCommand},
      {" RETR 1", ParseError::UnknownCommand},
      {"RETR", ParseError::MissingArgument},
      {"DELE", ParseError::MissingArgument},
      {"TOP 1", ParseError::MissingArgument},
      {"USER", ParseError::MissingArgument},
      {"PASS", ParseError::MissingArgument},
      {"PASS ", ParseError::MissingArgument},
      {"STAT 1", ParseError::TooManyArguments},
      {"QUIT now", ParseError::TooManyArguments},
      {"RETR 1 2", ParseError::TooManyArguments},
      {"USER a b", ParseError::TooManyArguments},
      {"AUTH PLAIN a b", ParseError::TooManyArguments},
      {"RETR x", ParseError::BadNumber},
      {"RETR -1", ParseError::BadNumber},
      {"RETR +1", ParseError::BadNumber},
      {"RETR 1.0", ParseError::BadNumber},
      {"RETR 12345678901234567890", ParseError::BadNumber},
      {"TOP 1 x", ParseError::BadNumber},
      {"LIST one", ParseError::BadNumber},
      {"AUTH PL@IN", ParseError::BadMechanism},
      {"AUTH ABCDEFGHIJKLMNOPQRSTU", ParseError::BadMechanism},
      {"RETR\t1", ParseError::BadCharacters},
      {"PASS a\x7f", ParseError::BadCharacters},
      {"\x01\x02\x03", ParseError::BadCharacters},
  };
  for (const auto& r : rows) CHECK(must_fail(r.line) == r.err);
  // A NUL inside the line (std::string_view keeps it).
  CHECK(must_fail(std::string_view("USER a\0b", 8)) == ParseError::BadCharacters);
  CHECK(must_fail(std::string_view("\0", 1)) == ParseError::BadCharacters);
}

TEST_CASE("POP3 parser: every verb name round-trips, describe() is non-empty", "[pop3][parser]") {
  for (auto v : {Verb::User, Verb::Pass, Verb::Stat, Verb::List, Verb::Uidl, Verb::Retr,
                 Verb::Dele, Verb::Noop, Verb::Rset, Verb::Quit, Verb::Top, Verb::Capa,
                 Verb::Stls, Verb::Auth}) {
    CHECK(verb_name(v).size() >= 3);
  }
  for (auto e : {ParseError::Empty, ParseError::BadCharacters, ParseError::UnknownCommand,
                 ParseError::MissingArgument, ParseError::TooManyArguments,
                 ParseError::BadNumber, ParseError::BadMechanism}) {
    CHECK_FALSE(describe(e).empty());
  }
}
