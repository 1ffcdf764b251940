// IMAP command reader: literals, limits before "+", BAD reasons, and the byte-split
// rule: every input fed whole, byte by byte and split at each index gives the same
// events.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tern/imap/command.hpp"

using tern::imap::Arg;
using tern::imap::CommandParser;
using tern::imap::ParseEvent;
using tern::imap::ParserLimits;
using Kind = tern::imap::ParseEvent::Kind;

namespace {

// A compact rendering of an event: "C a1 LOGIN [u] [p]", "+", "BAD a1 reason", ...
std::string render_arg(const Arg& a) {
  if (a.is_list()) {
    std::string r = "(";
    for (std::size_t i = 0; i < a.list.size(); ++i) r += (i ? " " : "") + render_arg(a.list[i]);
    return r + ")";
  }
  if (a.is_string()) return std::string(a.literal8 ? "~" : "") + (a.literal ? "{" : "[") + a.text + (a.literal ? "}" : "]");
  return a.text;
}

std::string render(const ParseEvent& e) {
  switch (e.kind) {
    case Kind::NeedMore: return "";
    case Kind::Continue: return "+";
    case Kind::Command: {
      std::string r = "C " + e.command.tag + " " + e.command.name;
      for (const auto& a : e.command.args) r += " " + render_arg(a);
      return r;
    }
    case Kind::Bad: return "BAD " + e.tag + " " + e.text;
    case Kind::LiteralTooBig: return "TOOBIG " + e.tag;
    case Kind::Fatal: return "FATAL " + e.tag;
  }
  return "?";
}

void drain(CommandParser& p, std::vector<std::string>& out) {
  for (;;) {
    ParseEvent e = p.next();
    if (e.kind == Kind::NeedMore) return;
    out.push_back(render(e));
    if (e.kind == Kind::Fatal) return;
  }
}

std::vector<std::string> feed_chunks(const std::vector<std::string>& chunks, ParserLimits l = {}) {
  CommandParser p(l);
  std::vector<std::string> out;
  for (const auto& c : chunks) {
    p.feed(c);
    drain(p, out);
  }
  return out;
}

std::vector<std::string> whole(const std::string& in, ParserLimits l = {}) { return feed_chunks({in}, l); }

void check_splits(const std::string& in, ParserLimits l = {}) {
  auto ref = whole(in, l);
  std::vector<std::string> bytes;
  for (char c : in) bytes.emplace_back(1, c);
  CHECK(feed_chunks(bytes, l) == ref);
  for (std::size_t i = 0; i <= in.size(); ++i)
    CHECK(feed_chunks({in.substr(0, i), in.substr(i)}, l) == ref);
}

}  // namespace

TEST_CASE("IMAP commands and arguments", "[imap][parser]") {
  struct Case {
    std::string in;
    std::vector<std::string> out;
  };
  const std::vector<Case> cases = {
      {"a1 NOOP\r\n", {"C a1 NOOP"}},
      {"a1 noop\n", {"C a1 NOOP"}},  // bare LF accepted
      {"a2 LOGIN alice \"pa ss\\\"w\"\r\n", {"C a2 LOGIN alice [pa ss\"w]"}},
      {"a3 LOGIN {5}\r\nalice {2}\r\npw\r\n", {"+", "+", "C a3 LOGIN {alice} {pw}"}},
      {"a4 LOGIN {5+}\r\nalice pw\r\n", {"C a4 LOGIN {alice} pw"}},
      {"a5 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n",
       {"C a5 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)"}},
      {"a6 LIST \"\" *\r\n", {"C a6 LIST [] *"}},
      {"a7 STORE 1 +FLAGS (\\Seen $Work)\r\n", {"C a7 STORE 1 +FLAGS (\\Seen $Work)"}},
      {std::string("a8 APPEND INBOX ~{3}\r\na\0b\r\n", 27), {"+", std::string("C a8 APPEND INBOX ~{a\0b}", 24)}},
      {"a9 SEARCH (OR (SEEN) NOT DELETED)\r\n", {"C a9 SEARCH (OR (SEEN) NOT DELETED)"}},
      {"a10 X ({3}\r\nabc)\r\n", {"+", "C a10 X ({abc})"}},
      {"a11 LOGIN {0}\r\n pw\r\n", {"+", "C a11 LOGIN {} pw"}},
      // malformed
      {"\r\n", {"BAD * empty command"}},
      {"a1\r\n", {"BAD a1 missing command"}},
      {"a+1 NOOP\r\n", {"BAD * invalid tag"}},
      {"a1 LOGIN \"unterminated\r\n", {"BAD a1 unterminated quoted string"}},
      {"a1 X (a b\r\n", {"BAD a1 unbalanced '('"}},
      {"a1 X a)\r\n", {"BAD a1 unbalanced ')'"}},
      {"a1 X \"bad\\e\"\r\n", {"BAD a1 bad escape in quoted string"}},
      {"a1 X {3}x\r\n", {"BAD a1 literal not at the end of a line"}},
      {"a1 X BODY[1\r\n", {"C a1 X BODY[1"}},  // no ']': an ordinary atom
      {"a1 X a[b c]d\r\n", {"C a1 X a[b c]d"}},
      {"a1 X {3}\r\nabc", {"+"}},  // literal done, rest of line awaited
      // pipelined
      {"a1 NOOP\r\na2 NOOP\r\n", {"C a1 NOOP", "C a2 NOOP"}},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(whole(c.in) == c.out);
    check_splits(c.in);
  }
}

TEST_CASE("IMAP limits are checked before the continuation", "[imap][parser]") {
  ParserLimits l;
  l.line_max = 100;
  l.literal_max = 1000;
  l.nesting_max = 3;
  // A LOGIN literal is bounded by the command line limit, not the message limit.
  CHECK(whole("a1 LOGIN {101}\r\n", l) == std::vector<std::string>{"TOOBIG a1"});
  CHECK(whole("a1 LOGIN {100}\r\n", l) == std::vector<std::string>{"+"});
  // APPEND literals up to the message limit; one over gets NO, no "+".
  CHECK(whole("a2 APPEND INBOX {1000}\r\n", l) == std::vector<std::string>{"+"});
  CHECK(whole("a2 APPEND INBOX {1001}\r\n", l) == std::vector<std::string>{"TOOBIG a2"});
  CHECK(whole("a2 APPEND INBOX {99999999999999999999999}\r\n", l) == std::vector<std::string>{"TOOBIG a2"});
  // After TOOBIG the next command is read normally.
  CHECK(whole("a2 APPEND INBOX {1001}\r\na3 NOOP\r\n", l) ==
        std::vector<std::string>{"TOOBIG a2", "C a3 NOOP"});
  // A non-synchronizing literal over the limit is fatal (its bytes are coming).
  CHECK(whole("a2 APPEND INBOX {1001+}\r\n", l) == std::vector<std::string>{"FATAL a2"});
  l.literal_minus = true;
  CHECK(whole("a2 APPEND INBOX {999+}\r\n", l).empty());
  l.literal_max = 10000;
  CHECK(whole("a2 APPEND INBOX {4097+}\r\n", l) == std::vector<std::string>{"FATAL a2"});
  // Overlong line: BAD once its end arrives, then the next command works.
  std::string longline = "a4 NOOP " + std::string(200, 'x') + "\r\na5 NOOP\r\n";
  CHECK(whole(longline, l) == std::vector<std::string>{"BAD a4 command line too long", "C a5 NOOP"});
  check_splits(longline, l);
  // Nesting.
  CHECK(whole("a6 X (((a)))\r\n", l) == std::vector<std::string>{"C a6 X (((a)))"});
  CHECK(whole("a6 X ((((a))))\r\n", l) == std::vector<std::string>{"BAD a6 lists nested too deeply"});
}

TEST_CASE("IMAP garbage without a line end is fatal, with bounded memory", "[imap][parser]") {
  ParserLimits l;
  l.line_max = 1000;  // skip limit: max(4 x 1000, 1 MiB) = 1 MiB
  CommandParser p(l);
  p.feed("g1 NOOP ");
  const std::string junk(64 * 1024, 'j');
  std::vector<std::string> ev;
  std::size_t fed = 0;
  while (fed < (2u << 20) && ev.empty()) {
    p.feed(junk);
    fed += junk.size();
    drain(p, ev);
  }
  // Fatal once past 1 MiB, with the tag it was read with; not before.
  REQUIRE(ev == std::vector<std::string>{"FATAL g1"});
  CHECK(fed >= (1u << 20));
  CHECK(fed <= (1u << 20) + 2 * junk.size());
  // An overlong line that does end in time is only BAD, and the next command works.
  CommandParser q(l);
  std::vector<std::string> ev2;
  q.feed("g2 NOOP ");
  for (int i = 0; i < 8; ++i) {
    q.feed(junk);
    drain(q, ev2);
  }
  q.feed("\r\ng3 NOOP\r\n");
  drain(q, ev2);
  CHECK(ev2 == std::vector<std::string>{"BAD g2 command line too long", "C g3 NOOP"});
  // Raw-line mode (IDLE's DONE, SASL responses): TooLong at the cap, then Fatal.
  CommandParser r(l);
  std::string line;
  CommandParser::LineStatus st = CommandParser::LineStatus::NeedMore;
  for (int i = 0; i < 40 && st == CommandParser::LineStatus::NeedMore; ++i) {
    r.feed(junk);
    st = r.take_line(line, 100);
  }
  CHECK(st == CommandParser::LineStatus::TooLong);
  CHECK(r.next().kind == Kind::Fatal);
}

TEST_CASE("IMAP tokenizer is linear in brackets", "[imap][parser]") {
  // Each '[' looks for its ']' and for characters that make it no section: without
  // remembering them, a line of '[' (or of '[' then '"]') is quadratic.
  std::vector<std::string> lines = {"t X " + std::string(60000, '['),
                                    "t X " + std::string(30000, '[') + "\"x\" ]",
                                    "t X " + std::string(20000, '[') + " " + std::string(20000, '[') + "]"};
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& l : lines) {
    tern::imap::Command c;
    std::string err;
    CHECK(tern::imap::parse_command_line(l, 32, c, err));
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 100);
  // Sections still work, and a '[' without its ']' is an atom character.
  tern::imap::Command c;
  std::string err;
  REQUIRE(tern::imap::parse_command_line("t FETCH 1 (BODY[HEADER.FIELDS (A B)] [c] \"q[\" d[\"e\"] a[b)", 32, c, err));
  REQUIRE(c.args.size() == 2);
  const auto& l = c.args[1].list;
  REQUIRE(l.size() == 7);
  CHECK(l[0].text == "BODY[HEADER.FIELDS (A B)]");
  CHECK(l[1].text == "[c]");
  CHECK((l[2].is_string() && l[2].text == "q["));
  CHECK(l[3].text == "d[");  // a '"' before the ']': no section
  CHECK(l[4].text == "e");
  CHECK(l[5].text == "]");
  CHECK(l[6].text == "a[b");  // no ']' after it
}

TEST_CASE("IMAP literal over the limit carries TOOBIG", "[imap][parser]") {
  ParserLimits l;
  l.line_max = 100;
  l.literal_max = 1000;
  CommandParser p(l);
  p.feed("a1 APPEND INBOX {1001}\r\n");
  ParseEvent e = p.next();
  CHECK(e.kind == Kind::LiteralTooBig);
  CHECK(e.code == "TOOBIG");
  CHECK(e.text.find("limit 1000") != std::string::npos);
  p.feed("a2 APPEND INBOX {1001+}\r\n");
  e = p.next();
  CHECK(e.kind == Kind::Fatal);
  CHECK(e.tag == "a2");
  CHECK(e.code == "TOOBIG");
}

TEST_CASE("IMAP raw lines and STARTTLS discard", "[imap][parser]") {
  CommandParser p;
  p.feed("a1 AUTHENTICATE PLAIN\r\ndGVzdA==\r\na2 NOOP\r\n");
  ParseEvent e = p.next();
  REQUIRE(e.kind == Kind::Command);
  std::string line;
  REQUIRE(p.take_line(line, 100) == CommandParser::LineStatus::Line);
  CHECK(line == "dGVzdA==");
  CHECK(p.has_input());
  p.discard_input();
  CHECK_FALSE(p.has_input());
  CHECK(p.next().kind == Kind::NeedMore);
  p.feed(std::string(300, 'x'));
  CHECK(p.take_line(line, 100) == CommandParser::LineStatus::NeedMore);
  p.feed("yy\r\nDONE\r\n");
  CHECK(p.take_line(line, 100) == CommandParser::LineStatus::TooLong);
  REQUIRE(p.take_line(line, 100) == CommandParser::LineStatus::Line);
  CHECK(line == "DONE");
}
