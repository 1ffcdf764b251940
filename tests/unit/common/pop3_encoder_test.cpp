// POP3 message encoding: CRLF normalisation, dot-stuffing, TOP, exact octet counts.
// Every case is fed whole, byte by byte and split at every index: the encoder is
// incremental and must give the same bytes whatever the chunking.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tern/pop3/message_encoder.hpp"
#include "tern/pop3/response.hpp"

using namespace tern::pop3;

namespace {

std::string encode_chunks(const std::vector<std::string>& chunks,
                          std::optional<std::uint64_t> top = std::nullopt) {
  MessageEncoder e(top);
  std::string out;
  for (const auto& c : chunks) e.feed(c, out);
  e.finish(out);
  return out;
}

// Encodes `in` whole, byte by byte and split at every index; all must agree.
std::string encode_all_ways(const std::string& in, std::optional<std::uint64_t> top = std::nullopt) {
  std::string whole = encode_chunks({in}, top);
  std::vector<std::string> bytes;
  for (char c : in) bytes.emplace_back(1, c);
  CHECK(encode_chunks(bytes, top) == whole);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    INFO("split at " << i);
    CHECK(encode_chunks({in.substr(0, i), in.substr(i)}, top) == whole);
  }
  return whole;
}

// Removes the stuffing and the terminator: the inverse a client applies.
std::string unstuff(const std::string& wire) {
  REQUIRE(wire.size() >= 3);
  REQUIRE(wire.substr(wire.size() - 3) == ".\r\n");
  std::string body = wire.substr(0, wire.size() - 3);
  std::string out;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t e = body.find("\r\n", i);
    REQUIRE(e != std::string::npos);
    std::string line = body.substr(i, e - i);
    REQUIRE(line != ".");  // a lone dot would end the response early
    if (!line.empty() && line[0] == '.') line.erase(0, 1);
    out += line + "\r\n";
    i = e + 2;
  }
  return out;
}

}  // namespace

TEST_CASE("POP3 encoding: CRLF normalisation and dot-stuffing", "[pop3][encoder]") {
  struct Row {
    std::string in;
    std::string wire;     // what RETR sends after "+OK ..."
    std::uint64_t size;   // LIST/STAT octets
  };
  const Row rows[] = {
      {"", ".\r\n", 0},
      {"a\r\n", "a\r\n.\r\n", 3},
      {"a", "a\r\n.\r\n", 3},                          // unterminated last line
      {"a\nb\n", "a\r\nb\r\n.\r\n", 6},                // bare LF
      {"a\rb\r", "a\r\nb\r\n.\r\n", 6},                // bare CR
      {"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n", 8},          // CR then CRLF: two line ends
      {"\n", "\r\n.\r\n", 2},
      {".\r\n", "..\r\n.\r\n", 3},                     // lone dot line is stuffed
      {".hidden\r\n..two\r\n", "..hidden\r\n...two\r\n.\r\n", 16},
      {"x\r\n.\r\n", "x\r\n..\r\n.\r\n", 6},           // SMTP-style end marker inside
      {"a.b\r\n .c\r\n", "a.b\r\n .c\r\n.\r\n", 10},    // dots not at line start
      {".", "..\r\n.\r\n", 3},
      {"\n.\n", "\r\n..\r\n.\r\n", 5},
      {"\r.\r", "\r\n..\r\n.\r\n", 5},
      {"Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n", 20},
  };
  for (const auto& r : rows) {
    INFO("input: " << r.in);
    CHECK(encode_all_ways(r.in) == r.wire);
    CHECK(pop3_size(r.in) == r.size);
    // The octet count is exactly the unstuffed wire bytes before ".\r\n".
    CHECK(unstuff(r.wire).size() == r.size);
    MessageEncoder e;
    std::string out;
    e.feed(r.in, out);
    e.finish(out);
    CHECK(e.content_octets() == r.size);
  }
}

TEST_CASE("POP3 size counter is chunking-independent", "[pop3][encoder]") {
  std::string in = "From: a\nSubject: b\r\n\r\n.line\r\nend\rlast";
  std::uint64_t whole = pop3_size(in);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    Pop3SizeCounter c;
    c.feed(in.substr(0, i));
    c.feed(in.substr(i));
    CHECK(c.finish() == whole);
  }
  CHECK(whole == unstuff(encode_chunks({in})).size());
}

TEST_CASE("POP3 TOP: header, blank line and n body lines", "[pop3][encoder][top]") {
  const std::string msg = "From: a\r\nSubject: s\r\n\r\nl1\r\n.l2\r\nl3\r\n";
  CHECK(encode_all_ways(msg, 0) == "From: a\r\nSubject: s\r\n\r\n.\r\n");
  CHECK(encode_all_ways(msg, 1) == "From: a\r\nSubject: s\r\n\r\nl1\r\n.\r\n");
  CHECK(encode_all_ways(msg, 2) == "From: a\r\nSubject: s\r\n\r\nl1\r\n..l2\r\n.\r\n");
  CHECK(encode_all_ways(msg, 3) == encode_all_ways(msg));
  CHECK(encode_all_ways(msg, 100) == encode_all_ways(msg));
  // LF-only message, TOP 1.
  CHECK(encode_all_ways("A: b\n\nx\ny\n", 1) == "A: b\r\n\r\nx\r\n.\r\n");
  // No blank line: all header, sent whole (terminated).
  CHECK(encode_all_ways("A: b\r\nC: d", 0) == "A: b\r\nC: d\r\n.\r\n");
  // Body with no header at all (starts with a blank line).
  CHECK(encode_all_ways("\r\nbody1\r\nbody2\r\n", 1) == "\r\nbody1\r\n.\r\n");
  // Unterminated last body line within the limit.
  CHECK(encode_all_ways("H: v\r\n\r\nonly", 5) == "H: v\r\n\r\nonly\r\n.\r\n");

  MessageEncoder e(std::uint64_t{0});
  std::string out;
  CHECK_FALSE(e.feed(msg, out));  // limit reached inside the first chunk
  CHECK(e.done());
  CHECK_FALSE(e.feed("more\r\n", out));
}

TEST_CASE("POP3 encoding of a large message in store-sized chunks", "[pop3][encoder]") {
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; i < 5000; ++i) msg += (i % 7 == 0 ? "." : "") + std::string(i % 90, 'x') + "\r\n";
  std::string whole = encode_chunks({msg});
  for (std::size_t chunk : {1u, 7u, 4096u, 65536u}) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < msg.size(); i += chunk) parts.push_back(msg.substr(i, chunk));
    CHECK(encode_chunks(parts) == whole);
  }
  CHECK(unstuff(whole) == msg);  // already CRLF: unstuffing gives the stored bytes back
  CHECK(pop3_size(msg) == msg.size());
}

TEST_CASE("POP3 status lines and response codes", "[pop3][response]") {
  CHECK(ok() == "+OK\r\n");
  CHECK(ok("2 320") == "+OK 2 320\r\n");
  CHECK(err("no such message") == "-ERR no such message\r\n");
  CHECK(err(RespCode::InUse, "maildrop locked") == "-ERR [IN-USE] maildrop locked\r\n");
  CHECK(err(RespCode::SysTemp, "x") == "-ERR [SYS/TEMP] x\r\n");
  CHECK(err(RespCode::SysPerm, "x") == "-ERR [SYS/PERM] x\r\n");
  CHECK(err(RespCode::Auth, "x") == "-ERR [AUTH] x\r\n");
  CHECK(err(RespCode::LoginDelay, "x") == "-ERR [LOGIN-DELAY] x\r\n");
  CHECK(sanitise_text("a\r\nb\x01") == "a??b?");
  CHECK(sanitise_text(std::string(300, 'z')).size() == 100);
}
