// ReturnPathFilter: Return-Path fields that arrive with a message are removed from the
// header section only, whatever the split of the input.
#include <catch2/catch.hpp>

#include "return_path_filter.hpp"

using tern::mta::ReturnPathFilter;

namespace {

std::string run_split(const std::string& in, std::size_t at, unsigned* removed = nullptr) {
  ReturnPathFilter f;
  std::string out;
  f.feed(std::string_view(in).substr(0, at), out);
  f.feed(std::string_view(in).substr(at), out);
  f.finish(out);
  if (removed) *removed = f.removed();
  return out;
}

}  // namespace

TEST_CASE("Return-Path fields are removed from the header only", "[mta][headers]") {
  struct {
    std::string in, out;
    unsigned removed;
  } cases[] = {
      {"Return-Path: <forged@x>\r\nSubject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n", 1},
      {"Subject: a\r\nreturn-path:<x>\r\nRETURN-PATH : <y>\r\n\tfolded\r\nTo: b\r\n\r\nb\r\n",
       "Subject: a\r\nTo: b\r\n\r\nb\r\n", 2},
      // in the body it stays
      {"Subject: a\r\n\r\nReturn-Path: <in-body>\r\n", "Subject: a\r\n\r\nReturn-Path: <in-body>\r\n", 0},
      // a field whose name only starts like it stays
      {"Return-Paths: x\r\nReturn-Path-X: y\r\n\r\n", "Return-Paths: x\r\nReturn-Path-X: y\r\n\r\n", 0},
      // folded line after a kept field stays
      {"Subject: a\r\n b\r\n\r\n", "Subject: a\r\n b\r\n\r\n", 0},
      // header without body, last line without CRLF
      {"Subject: a\r\nReturn-Path: <x>", "Subject: a\r\n", 1},
      {"", "", 0},
  };
  for (auto& c : cases) {
    for (std::size_t at = 0; at <= c.in.size(); ++at) {
      INFO(c.in << " split at " << at);
      unsigned removed = 0;
      CHECK(run_split(c.in, at, &removed) == c.out);
      CHECK(removed == c.removed);
    }
  }
}

TEST_CASE("Return-Path filter: byte by byte, and an overlong line passes", "[mta][headers]") {
  const std::string in = "Return-Path: <a>\r\nX: " + std::string(70000, 'x') + "\r\nReturn-Path: <b>\r\n\r\nz\r\n";
  ReturnPathFilter f;
  std::string out;
  for (char c : in) f.feed(std::string_view(&c, 1), out);
  f.finish(out);
  CHECK(out == "X: " + std::string(70000, 'x') + "\r\n\r\nz\r\n");
  CHECK(f.removed() == 2);
}

TEST_CASE("Received fields of the header are counted for loop detection, every split", "[mta][headers]") {
  const std::string in =
      "Received: from a by b; Tue, 1 Dec 2026 10:00:00 +0000\r\n"
      "received : from c\r\n\tby d; Tue, 1 Dec 2026 10:00:01 +0000\r\n"
      "Return-Path: <x>\r\nReceived-SPF: pass\r\nX-Received: by e\r\nRECEIVED:from f\r\n"
      "Subject: loop\r\n\r\nReceived: in the body, not counted\r\n";
  for (std::size_t at = 0; at <= in.size(); ++at) {
    INFO("split at " << at);
    ReturnPathFilter f;
    std::string out;
    f.feed(std::string_view(in).substr(0, at), out);
    f.feed(std::string_view(in).substr(at), out);
    f.finish(out);
    CHECK(f.received() == 3);
    CHECK(f.removed() == 1);
    CHECK(out.find("Received: from a by b") == 0);  // kept as they are
  }
  CHECK(tern::mta::kMaxReceivedFields == 50);
}
