// IMAP argument parsers: sequence sets, dates, FETCH attributes, SEARCH keys, the
// bounded LIST matcher and response strings.
#include <catch2/catch.hpp>

#include <chrono>

#include "tern/imap/args.hpp"
#include "tern/imap/list_match.hpp"
#include "tern/imap/response.hpp"

using namespace tern::imap;

namespace {

std::vector<Arg> args_of(const std::string& line) {
  Command c;
  std::string err;
  REQUIRE(parse_command_line("t X " + line, 32, c, err));
  return c.args;
}

}  // namespace

TEST_CASE("sequence sets", "[imap][args]") {
  SequenceSet s;
  REQUIRE(parse_sequence_set("1,3:5,*", 10, s));
  auto r = s.resolve(10);
  REQUIRE(r.size() == 3);
  CHECK(in_ranges(r, 4));
  CHECK(in_ranges(r, 10));
  CHECK_FALSE(in_ranges(r, 2));
  REQUIRE(parse_sequence_set("5:2,4:7", 10, s));
  r = s.resolve(10);
  REQUIRE(r.size() == 1);
  CHECK(r[0].first == 2);
  CHECK(r[0].last == 7);
  // A huge set costs its number of ranges, never its span.
  REQUIRE(parse_sequence_set("1:4294967295", 10, s));
  CHECK(in_ranges(s.resolve(5), 4294967295u));
  CHECK_FALSE(parse_sequence_set("0", 10, s));
  CHECK_FALSE(parse_sequence_set("1,,2", 10, s));
  CHECK_FALSE(parse_sequence_set("4294967296", 10, s));
  CHECK_FALSE(parse_sequence_set("1:", 10, s));
  CHECK_FALSE(parse_sequence_set("1,2,3", 2, s));  // over the range cap
  // "*" in an empty mailbox selects nothing.
  REQUIRE(parse_sequence_set("1:*", 10, s));
  CHECK(s.resolve(0).empty());
}

TEST_CASE("flag lists are bounded", "[imap][args]") {
  std::string many = "(";
  for (int i = 0; i < 1000; ++i) many += " $k" + std::to_string(i);
  FlagList fl;
  CHECK(parse_flag_list(args_of(many + " $K0 \\Seen)")[0], fl));
  CHECK(fl.keywords.size() == 1000);
  FlagList fl2;
  auto t0 = std::chrono::steady_clock::now();
  std::string more = many;
  for (int i = 1000; i < 9000; ++i) more += " $k" + std::to_string(i);
  CHECK_FALSE(parse_flag_list(args_of(more + ")")[0], fl2));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 100);
}

TEST_CASE("dates", "[imap][args]") {
  CHECK(parse_date("1-Jan-1970") == 0);
  CHECK(parse_date("02-Jan-1970") == 86400);
  CHECK_FALSE(parse_date("31-Feb-2024"));
  CHECK_FALSE(parse_date("1-Foo-2024"));
  CHECK(parse_date_time("01-Jan-1970 01:00:00 +0100") == 0);
  CHECK(parse_date_time(" 1-Jan-1970 00:00:10 -0000") == 10);
  CHECK_FALSE(parse_date_time("01-Jan-1970 25:00:00 +0000"));
  CHECK(format_date_time(0) == "\"01-Jan-1970 00:00:00 +0000\"");
}

TEST_CASE("FETCH attributes", "[imap][args]") {
  FetchRequest f;
  std::string err;
  REQUIRE(parse_fetch(args_of("(FLAGS BODY.PEEK[1.2.HEADER.FIELDS (from To)]<5.10> BINARY[3])"), 0, f, err));
  REQUIRE(f.atts.size() == 3);
  CHECK(f.atts[1].peek);
  CHECK(f.atts[1].section.part == std::vector<std::uint32_t>{1, 2});
  CHECK(f.atts[1].section.fields == std::vector<std::string>{"FROM", "TO"});
  CHECK(fetch_att_name(f.atts[1]) == "BODY[1.2.HEADER.FIELDS (FROM TO)]<5>");
  CHECK(f.atts[2].kind == FetchAtt::Kind::Binary);
  REQUIRE(parse_fetch(args_of("ALL"), 0, f, err));
  CHECK(f.atts.size() == 4);
  REQUIRE(parse_fetch(args_of("(FLAGS) (CHANGEDSINCE 12 VANISHED)"), 0, f, err));
  CHECK(f.changedsince_modseq == 12);
  CHECK(f.vanished);
  CHECK_FALSE(parse_fetch(args_of("(FLAGS ALL)"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("BODY[0]"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("BODY[MIME]"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("BINARY[HEADER]"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("BODY[]<1>"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("FOO"), 0, f, err));
  // HEADER.FIELDS lists are capped (each field is compared with every header).
  std::string fields;
  for (int i = 0; i < 256; ++i) fields += " X-F" + std::to_string(i);
  CHECK(parse_fetch(args_of("BODY.PEEK[HEADER.FIELDS (" + fields.substr(1) + ")]"), 0, f, err));
  CHECK_FALSE(parse_fetch(args_of("BODY.PEEK[HEADER.FIELDS (" + fields.substr(1) + " X-More)]"), 0, f, err));
  CHECK(err == "too many header fields (at most 256)");
}

TEST_CASE("SEARCH programs", "[imap][args]") {
  SearchProgram p;
  std::string err;
  REQUIRE(parse_search(args_of("RETURN (MIN COUNT) CHARSET utf-8 OR SEEN (FROM \"bob\" LARGER 10) UID 1:5"), 0,
                       32, 100, true, p, err));
  CHECK(p.esearch);
  CHECK(p.ret_min);
  CHECK(p.ret_count);
  CHECK(p.charset == "UTF-8");
  REQUIRE(p.root.sub.size() == 2);
  CHECK(p.root.sub[0].kind == SearchKey::Kind::Or);
  CHECK(p.root.sub[1].kind == SearchKey::Kind::Uid);
  REQUIRE(parse_search(args_of("MODSEQ \"/flags/\\\\draft\" all 620162338"), 0, 32, 100, true, p, err));
  CHECK(p.uses_modseq);
  CHECK(p.root.sub[0].n == 620162338);
  CHECK_FALSE(parse_search(args_of("SINCE 1-Foo-2020"), 0, 32, 100, true, p, err));
  CHECK_FALSE(parse_search(args_of("OR SEEN"), 0, 32, 100, true, p, err));
  CHECK_FALSE(parse_search(args_of("BOGUS"), 0, 32, 100, true, p, err));
  // NOT chains are bounded by the nesting limit (no unbounded recursion).
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "NOT ";
  deep += "SEEN";
  CHECK_FALSE(parse_search(args_of(deep), 0, 32, 100, true, p, err));
  CHECK(err == "search keys nested too deeply");
  // Keys that scan message content are capped: each costs a pass over the mailbox.
  std::string many;
  for (int i = 0; i < 100; ++i) many += i % 3 == 0 ? "NOT BODY x " : i % 3 == 1 ? "SUBJECT y " : "HEADER X-A z ";
  CHECK(parse_search(args_of(many), 0, 32, 100, true, p, err));
  CHECK_FALSE(parse_search(args_of(many + "TEXT w"), 0, 32, 100, true, p, err));
  CHECK(err.find("too many") == 0);
  CHECK(parse_search(args_of(many + "SEEN 1:5"), 0, 32, 100, true, p, err));
}

TEST_CASE("LIST patterns in bounded time", "[imap][list]") {
  CHECK(list_match("*", "a/b/c"));
  CHECK(list_match("%", "abc"));
  CHECK_FALSE(list_match("%", "a/b"));
  CHECK(list_match("a/%", "a/b"));
  CHECK_FALSE(list_match("a/%", "a/b/c"));
  CHECK(list_match("inbox", "INBOX"));
  CHECK(list_match("Inbox/%", "INBOX/x"));
  CHECK(list_match("a*c", "abbbc"));
  CHECK_FALSE(list_match("a*c", "abbbd"));
  CHECK(list_match("%/%", "a/b"));
  // The backtracking blow-up: many wildcards against a long name that does not match.
  std::string pat;
  for (int i = 0; i < 5000; ++i) pat += "*%";
  pat += "x";
  std::string name(500, 'a');
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(list_match(pat, name));
  std::string pat2;
  for (int i = 0; i < 200; ++i) pat2 += "a*";
  pat2 += "b";
  CHECK_FALSE(list_match(pat2, name));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  CHECK(ms.count() < 100);
}

TEST_CASE("response strings", "[imap][response]") {
  std::string o;
  append_astring(o, "INBOX");
  CHECK(o == "INBOX");
  o.clear();
  append_astring(o, "a b");
  CHECK(o == "\"a b\"");
  o.clear();
  append_astring(o, "NIL");
  CHECK(o == "\"NIL\"");
  o.clear();
  append_string(o, "q\"\\");
  CHECK(o == "\"q\\\"\\\\\"");
  o.clear();
  append_string(o, "a\r\nb");
  CHECK(o == "{4}\r\na\r\nb");
  o.clear();
  append_string(o, "\xc3\xa9");
  CHECK(o == "{2}\r\n\xc3\xa9");
  CHECK(safe_text("a\r\nb") == "a  b");
}
