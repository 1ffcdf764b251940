// LineFramer: every input is fed whole, byte by byte, and split at each index; the
// sequence of results (NeedMore omitted) and the leftover bytes must be the same.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tern/util/line_framer.hpp"

using tern::util::LineFramer;
using tern::util::LineResult;
using tern::util::LineStatus;

namespace {

struct Out {
  LineStatus status;
  std::string text;
  bool operator==(const Out& o) const { return status == o.status && text == o.text; }
};

struct Run {
  std::vector<Out> outs;
  std::string left;  // buffered() at the end
};

void drain(LineFramer& f, std::vector<Out>& outs) {
  for (;;) {
    LineResult r = f.next();
    if (r.status == LineStatus::NeedMore) return;
    outs.push_back({r.status, r.text});
  }
}

Run feed_chunks(std::size_t max, const std::vector<std::string>& chunks) {
  LineFramer f(max);
  Run run;
  for (const auto& c : chunks) {
    f.feed(c);
    drain(f, run.outs);
  }
  run.left = std::string(f.buffered());
  return run;
}

std::string name(LineStatus s) {
  switch (s) {
    case LineStatus::Line: return "Line";
    case LineStatus::NeedMore: return "NeedMore";
    case LineStatus::TooLong: return "TooLong";
    case LineStatus::BareLf: return "BareLf";
    case LineStatus::BareCr: return "BareCr";
  }
  return "?";
}

std::string show(const Run& r) {
  std::string s;
  for (const auto& o : r.outs) s += name(o.status) + "[" + o.text + "] ";
  return s + "left[" + r.left + "]";
}

// Checks `input` against `expected` fed whole, byte by byte, and split in two at
// every index.
void check_all_splits(std::size_t max, const std::string& input, const Run& expected) {
  INFO("input: " << input);
  CHECK(show(feed_chunks(max, {input})) == show(expected));
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  CHECK(show(feed_chunks(max, bytes)) == show(expected));
  for (std::size_t i = 0; i <= input.size(); ++i) {
    INFO("split at " << i);
    CHECK(show(feed_chunks(max, {input.substr(0, i), input.substr(i)})) == show(expected));
  }
}

}  // namespace

TEST_CASE("LineFramer splits CRLF lines", "[util][line_framer]") {
  struct Case {
    std::string input;
    Run expected;
  };
  const std::size_t max = 8;
  const std::vector<Case> cases = {
      {"", {{}, ""}},
      {"\r\n", {{{LineStatus::Line, ""}}, ""}},
      {"EHLO x\r\n", {{{LineStatus::Line, "EHLO x"}}, ""}},
      {"a\r\nbc\r\n", {{{LineStatus::Line, "a"}, {LineStatus::Line, "bc"}}, ""}},
      {"a\r\npartial", {{{LineStatus::Line, "a"}}, "partial"}},
      {"a\r\npart\r", {{{LineStatus::Line, "a"}}, "part\r"}},
      // Exactly max octets is fine; max + 1 is too long.
      {"12345678\r\n", {{{LineStatus::Line, "12345678"}}, ""}},
      {"123456789\r\n", {{{LineStatus::TooLong, ""}}, ""}},
      // Overlong, then the next line works (skip to the LF, report once).
      {"123456789abcdefghij\r\nNOOP\r\n",
       {{{LineStatus::TooLong, ""}, {LineStatus::Line, "NOOP"}}, ""}},
      {"1234567890123456789012345\nok\r\n",
       {{{LineStatus::TooLong, ""}, {LineStatus::Line, "ok"}}, ""}},
      // Bare LF ends a line only as a reported BareLf.
      {"a\nb\r\n", {{{LineStatus::BareLf, "a"}, {LineStatus::Line, "b"}}, ""}},
      {"\n", {{{LineStatus::BareLf, ""}}, ""}},
      // A CR not followed by LF inside a line.
      {"a\rb\r\n", {{{LineStatus::BareCr, "a\rb"}}, ""}},
      {"a\r\r\n", {{{LineStatus::BareCr, "a\r"}}, ""}},
      {"a\rb\n", {{{LineStatus::BareLf, "a\rb"}}, ""}},
      // SMTP smuggling shapes: "\n.\r\n" is BareLf "" then "." — never a CRLF.CRLF.
      {"x\n.\r\n", {{{LineStatus::BareLf, "x"}, {LineStatus::Line, "."}}, ""}},
      {"x\r.\r\n", {{{LineStatus::BareCr, "x\r."}}, ""}},
      // Overlong bare-LF line is TooLong.
      {"123456789\n", {{{LineStatus::TooLong, ""}}, ""}},
      // Unterminated overlong input: nothing yet, nothing kept.
      {"123456789abcdef", {{}, ""}},
      {"123456789abcdef\r", {{}, ""}},
      // Nine bytes without LF: might be 8 + CR... not yet known; kept.
      {"12345678\r", {{}, "12345678\r"}},
  };
  for (const auto& c : cases) check_all_splits(max, c.input, c.expected);
}

TEST_CASE("LineFramer buffered/consume/clear for raw reads", "[util][line_framer]") {
  LineFramer f(512);
  f.feed("BDAT 5\r\nhelloQUIT\r\n");
  auto r = f.next();
  REQUIRE(r.status == LineStatus::Line);
  CHECK(r.text == "BDAT 5");
  CHECK(f.buffered() == "helloQUIT\r\n");
  f.consume(5);
  CHECK(f.buffered() == "QUIT\r\n");
  r = f.next();
  CHECK(r.status == LineStatus::Line);
  CHECK(r.text == "QUIT");
  CHECK(f.empty());
  CHECK(f.next().status == LineStatus::NeedMore);

  // consume more than buffered is clamped.
  f.feed("abc");
  f.consume(10);
  CHECK(f.empty());

  // STARTTLS: pipelined input is discarded, an overlong-skip state too.
  f.set_max(4);
  f.feed("STARTTLS\r\nMAIL FROM:<a@b>\r\n");
  f.clear();
  CHECK(f.empty());
  f.feed("abcdefgh");  // enters skipping
  f.clear();
  f.feed("ok\r\n");
  r = f.next();
  CHECK(r.status == LineStatus::Line);
  CHECK(r.text == "ok");
}

TEST_CASE("LineFramer keeps memory bounded on endless lines", "[util][line_framer]") {
  LineFramer f(100);
  std::string chunk(1000, 'x');
  for (int i = 0; i < 1000; ++i) {
    f.feed(chunk);
    CHECK(f.next().status == LineStatus::NeedMore);
    REQUIRE(f.buffered().size() <= 102);
  }
  f.feed("\r\nNOOP\r\n");
  CHECK(f.next().status == LineStatus::TooLong);
  auto r = f.next();
  CHECK(r.status == LineStatus::Line);
  CHECK(r.text == "NOOP");
}

TEST_CASE("LineFramer handles many lines with compaction", "[util][line_framer]") {
  LineFramer f(64);
  std::string all;
  for (int i = 0; i < 5000; ++i) all += "line " + std::to_string(i) + "\r\n";
  std::size_t off = 0;
  int n = 0;
  while (off < all.size()) {
    std::size_t len = std::min<std::size_t>(777, all.size() - off);
    f.feed(std::string_view(all).substr(off, len));
    off += len;
    for (;;) {
      auto r = f.next();
      if (r.status == LineStatus::NeedMore) break;
      REQUIRE(r.status == LineStatus::Line);
      REQUIRE(r.text == "line " + std::to_string(n));
      ++n;
    }
  }
  CHECK(n == 5000);
}
