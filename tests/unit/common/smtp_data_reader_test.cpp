// DATA/BDAT body decoder: every input whole, byte by byte and split at every index;
// the SMTP smuggling table; size, line length and NUL limits.
#include <catch2/catch.hpp>

#include "tern/smtp/data_reader.hpp"

using namespace tern::smtp;

namespace {

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  DataOutcome outcome = DataOutcome::Ok;
};

Decoded run_split(std::string_view in, std::vector<std::size_t> cuts, DataMode mode = DataMode::Dot,
                  std::uint64_t max = 1 << 20, std::size_t line_max = 1000) {
  DataReader r(mode, max, line_max);
  Decoded d;
  std::size_t prev = 0;
  cuts.push_back(in.size());
  for (auto cut : cuts) {
    if (r.done()) break;
    auto piece = in.substr(prev, cut - prev);
    auto n = r.feed(piece, d.body);
    d.consumed += n;
    prev = cut;
    if (n < piece.size()) break;  // done: the rest is the next command
  }
  if (mode == DataMode::Raw) r.finish();
  d.done = r.done();
  d.outcome = r.outcome();
  return d;
}

// Feed whole, byte by byte and split at every single index: the results must agree.
Decoded run_all(std::string_view in, DataMode mode = DataMode::Dot, std::uint64_t max = 1 << 20,
                std::size_t line_max = 1000) {
  Decoded whole = run_split(in, {}, mode, max, line_max);
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i < in.size(); ++i) bytes.push_back(i);
  Decoded b = run_split(in, bytes, mode, max, line_max);
  CHECK(b.body == whole.body);
  CHECK(b.consumed == whole.consumed);
  CHECK(b.done == whole.done);
  CHECK(b.outcome == whole.outcome);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    Decoded s = run_split(in, {i}, mode, max, line_max);
    INFO("split at " << i);
    CHECK(s.body == whole.body);
    CHECK(s.consumed == whole.consumed);
    CHECK(s.done == whole.done);
    CHECK(s.outcome == whole.outcome);
  }
  return whole;
}

}  // namespace

TEST_CASE("DATA ends at CRLF.CRLF and unstuffs dots", "[smtp][data]") {
  auto d = run_all("Subject: x\r\n\r\nhello\r\n..dot line\r\n.\r\nQUIT\r\n");
  CHECK(d.done);
  CHECK(d.outcome == DataOutcome::Ok);
  CHECK(d.body == "Subject: x\r\n\r\nhello\r\n.dot line\r\n");
  CHECK(d.consumed == std::string_view("Subject: x\r\n\r\nhello\r\n..dot line\r\n.\r\n").size());

  auto empty = run_all(".\r\n");
  CHECK(empty.done);
  CHECK(empty.body.empty());

  auto dots = run_all("...\r\n.x\r\n..\r\n.\r\n");
  CHECK(dots.body == "..\r\nx\r\n.\r\n");

  auto notyet = run_all("a\r\n.\r");
  CHECK_FALSE(notyet.done);
  CHECK(notyet.body == "a\r\n");
}

TEST_CASE("SMTP smuggling: bare LF / CR never end the data", "[smtp][data][smuggling]") {
  // Each vector contains a false terminator followed by a smuggled command, then the
  // real end. None may end the data early; each is rejected at the real end.
  const char* vectors[] = {
      "a\n.\nMAIL FROM:<x@y>\r\n.\r\n",
      "a\r.\rMAIL FROM:<x@y>\r\n.\r\n",
      "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n",
      "a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n",
      "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n",
      "a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n",
      "a\r\n.\r\rMAIL\r\n.\r\n",
      "a\r\r\n.\r\n",        // CR CR LF: the first CR is bare
      "line\nmore\r\n.\r\n",  // plain bare LF
      "\n.\r\n.\r\n",
      "a\r\n\n.\n\r\n.\r\n",
  };
  for (const char* v : vectors) {
    INFO(std::string(v));
    std::string_view in(v);
    auto d = run_all(in);
    CHECK(d.done);
    CHECK(d.consumed == in.size());  // only the real terminator ends the data
    CHECK(d.outcome == DataOutcome::BareLineEnding);
    DataReader r(DataMode::Dot, 100);
    std::string out;
    r.feed(in, out);
    CHECK(r.reject_reply().code == 550);
    CHECK(r.reject_reply().esc == "5.5.2");
  }
}

TEST_CASE("DATA size cap reads to the end then 552 5.3.4", "[smtp][data]") {
  std::string body = std::string(100, 'x') + "\r\n";
  std::string in;
  for (int i = 0; i < 10; ++i) in += body;
  in += ".\r\nNOOP\r\n";
  auto d = run_split(in, {}, DataMode::Dot, 500);
  CHECK(d.done);
  CHECK(d.outcome == DataOutcome::TooBig);
  CHECK(d.body.size() == 500);
  CHECK(d.consumed == in.size() - 6);
  DataReader r(DataMode::Dot, 500);
  std::string out;
  r.feed(in, out);
  CHECK(r.size() == 1020);
  CHECK(r.reject_reply().summary() == "552 5.3.4 Message size exceeds fixed limit");
  // Exactly at the cap is fine.
  auto exact = run_split("12345678\r\n.\r\n", {}, DataMode::Dot, 10);
  CHECK(exact.outcome == DataOutcome::Ok);
}

TEST_CASE("DATA line length limit counts CRLF (RFC 5321 4.5.3.1.6)", "[smtp][data]") {
  std::string ok_line(998, 'a');
  auto d = run_split(ok_line + "\r\n.\r\n", {});
  CHECK(d.outcome == DataOutcome::Ok);
  std::string long_line(999, 'a');
  auto e = run_split(long_line + "\r\n.\r\n", {});
  CHECK(e.done);
  CHECK(e.outcome == DataOutcome::LineTooLong);
  // A stuffed dot counts as transmitted: "." + 998 chars is 999 + CRLF.
  auto s = run_split("." + ok_line + "\r\n.\r\n", {});
  CHECK(s.outcome == DataOutcome::LineTooLong);
  auto small = run_all("abcdef\r\nab\r\n.\r\n", DataMode::Dot, 1000, 6);
  CHECK(small.outcome == DataOutcome::LineTooLong);
}

TEST_CASE("NUL octets are refused", "[smtp][data]") {
  auto d = run_all(std::string_view("a\0b\r\n.\r\n", 8));
  CHECK(d.done);
  CHECK(d.outcome == DataOutcome::Nul);
}

TEST_CASE("BDAT raw mode: no stuffing, no terminator, same checks", "[smtp][data][bdat]") {
  auto d = run_all("a\r\n.\r\n..b\r\n", DataMode::Raw);
  CHECK_FALSE(d.done);
  CHECK(d.body == "a\r\n.\r\n..b\r\n");
  CHECK(d.outcome == DataOutcome::Ok);
  CHECK(run_all("a\nb\r\n", DataMode::Raw).outcome == DataOutcome::BareLineEnding);
  CHECK(run_all("a\r\nb\r", DataMode::Raw).outcome == DataOutcome::BareLineEnding);
  CHECK(run_all("no final crlf", DataMode::Raw).outcome == DataOutcome::Ok);
  CHECK(run_split("0123456789abc", {}, DataMode::Raw, 10).outcome == DataOutcome::TooBig);
}
