// RFC 5256 base subject, dates, THREAD=REFERENCES / ORDEREDSUBJECT, and their bounds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <string>

#include "tern/mime/message.hpp"
#include "tern/mime/thread.hpp"

using namespace tern::mime;

TEST_CASE("base subject (RFC 5256 2.1)", "[mime][thread]") {
  struct Row {
    const char* in;
    const char* out;
    bool reply;
  } rows[] = {
      {"Hello", "hello", false},
      {"Re: Hello", "hello", true},
      {"RE: re: Fwd:  hello  ", "hello", true},
      {"[list] Re: [other] hello", "hello", true},
      {"Re[2]: hello (fwd)", "hello", true},
      {"[Fwd: hello]", "hello", true},
      {"[list]", "[list]", false},
      {"Fw: =?UTF-8?Q?Caf=C3=A9?=", "caf\xc3\xa9", true},
      {"hello\t world", "hello world", false},
      {"", "", false},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    bool reply = false;
    CHECK(base_subject(r.in, &reply) == r.out);
    CHECK(reply == r.reply);
  }
}

TEST_CASE("base subject of hostile subjects takes linear time", "[mime][thread][limits]") {
  // Leaders were erased from the front one at a time (each erase copies the rest) and
  // a run of blobs was rescanned per blob: quadratic in the subject's length.
  std::string re, blobs, fwd;
  for (int i = 0; i < 20000; ++i) re += "Re: ";
  for (int i = 0; i < 20000; ++i) blobs += "[a]";
  for (int i = 0; i < 900; ++i) fwd += "[Fwd: ";
  fwd += "x";
  for (int i = 0; i < 900; ++i) fwd += "]";
  auto cpu = [] { return std::clock(); };
  auto t0 = cpu();
  bool reply = false;
  CHECK(base_subject(re + "x", &reply) == "x");
  CHECK(reply);
  CHECK(base_subject(blobs + "x", &reply) == "x");
  CHECK_FALSE(reply);
  CHECK(base_subject(blobs, &reply) == "[a]");  // the last blob stays: nothing after it
  CHECK(base_subject(fwd, &reply) == "x");
  CHECK(reply);
  CHECK(base_subject(blobs + re + blobs + "Re: y (fwd) (fwd)", &reply) == "y");
  double ms = 1000.0 * static_cast<double>(cpu() - t0) / CLOCKS_PER_SEC;
  CHECK(ms < 100.0);
}

TEST_CASE("sent date parsing", "[mime][thread]") {
  CHECK(parse_date("Tue, 01 Dec 2026 08:00:00 +0000") == 1796112000);
  CHECK(parse_date("1 Dec 2026 09:00:00 +0100") == 1796112000);
  CHECK(parse_date("Tue, 1 Dec 26 03:00 EST") == 1796112000);
  CHECK(parse_date(" Tue, 01 Dec 2026\r\n 08:00:00 GMT (comment)") == 1796112000);
  CHECK(parse_date("garbage") == std::nullopt);
  CHECK(parse_date("32 Dec 2026 00:00:00") == std::nullopt);
}

namespace {
ThreadMessage mk(std::uint32_t id, std::string mid, std::vector<std::string> refs, std::string subj, std::int64_t date) {
  ThreadMessage t;
  t.id = id;
  t.message_id = std::move(mid);
  t.references = std::move(refs);
  t.base_subject = base_subject(subj, &t.subject_is_reply);
  t.sent_date = date;
  return t;
}
}  // namespace

TEST_CASE("THREAD=REFERENCES", "[mime][thread]") {
  std::vector<ThreadMessage> in = {
      mk(1, "a", {}, "topic", 100),
      mk(2, "b", {"a"}, "Re: topic", 200),
      mk(3, "c", {"a", "b"}, "Re: topic", 300),
      mk(4, "d", {"a"}, "Re: topic", 250),
      mk(5, "e", {}, "other", 150),
      mk(6, "f", {"missing"}, "lonely", 400),
      mk(7, "g", {"missing"}, "lonely too", 500),
      mk(8, "h", {}, "Re: other", 600),
  };
  // 2 and 4 are children of 1 (sorted by date), 3 under 2; 6 and 7 share a dummy parent;
  // 8 ("Re: other") joins 5's thread by subject (step 5).
  CHECK(thread_references(in) == "(1 (2 3)(4))(5 8)((6)(7))");
  CHECK(thread_references({}).empty());
  // Loops in References are not followed.
  std::vector<ThreadMessage> loop = {mk(1, "x", {"y"}, "a", 1), mk(2, "y", {"x"}, "b", 2)};
  std::string t = thread_references(loop);
  CHECK((t == "(1 2)" || t == "(2 1)"));
  // Duplicate Message-IDs: both messages appear.
  std::vector<ThreadMessage> dup = {mk(1, "x", {}, "a", 1), mk(2, "x", {}, "b", 2)};
  CHECK(thread_references(dup) == "(1)(2)");
}

TEST_CASE("THREAD=ORDEREDSUBJECT", "[mime][thread]") {
  std::vector<ThreadMessage> in = {mk(1, "", {}, "b", 10), mk(2, "", {}, "Re: a", 5), mk(3, "", {}, "a", 20),
                                   mk(4, "", {}, "b", 30), mk(5, "", {}, "a", 40), mk(6, "", {}, "c", 1)};
  CHECK(thread_orderedsubject(in) == "(6)(2 (3)(5))(1 4)");
}

TEST_CASE("THREAD on deep reference chains stays bounded", "[mime][thread][limits]") {
  // 10,000 messages, each referencing every earlier one (a chain 10,000 deep).
  std::vector<std::string> ids;
  std::vector<ThreadMessage> in;
  for (std::uint32_t i = 1; i <= 10000; ++i) {
    std::string id = "m" + std::to_string(i) + "@x";
    ThreadMessage t;
    t.id = i;
    t.message_id = id;
    t.references = ids;  // all earlier ones
    t.base_subject = "s";
    t.sent_date = i;
    in.push_back(std::move(t));
    ids.push_back(id);
  }
  auto cpu = [] { return std::clock(); };
  auto t0 = cpu();
  std::string out = thread_references(in);
  double ms = 1000.0 * static_cast<double>(cpu() - t0) / CLOCKS_PER_SEC;
  INFO(out.substr(0, 200));
  CHECK(out.rfind("(1 2 3 ", 0) == 0);
  CHECK(out.size() > 40000);
  CHECK(ms < 100.0);
  // Reverse order (children first) and a loop-provoking shape: still bounded.
  for (auto& t : in) std::reverse(t.references.begin(), t.references.end());
  t0 = cpu();
  out = thread_references(in);
  ms = 1000.0 * static_cast<double>(cpu() - t0) / CLOCKS_PER_SEC;
  CHECK(!out.empty());
  CHECK(ms < 100.0);
}

TEST_CASE("thread_message reads the fields", "[mime][thread]") {
  std::string msg =
      "Message-ID: <x@y>\r\nIn-Reply-To: <p@y> <q@y>\r\nSubject: Re: hi\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\n\r\n";
  Message m = parse(msg);
  ThreadMessage t = thread_message(msg, m.root, 7, 5);
  CHECK(t.message_id == "x@y");
  CHECK(t.references == std::vector<std::string>{"p@y"});
  CHECK(t.base_subject == "hi");
  CHECK(t.subject_is_reply);
  CHECK(t.sent_date == 1796112000);
}
