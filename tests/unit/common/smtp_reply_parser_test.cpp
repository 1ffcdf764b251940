// ReplyParser: SMTP server replies for the outbound client.
#include "tern/smtp/reply_parser.hpp"

#include <catch2/catch.hpp>

using tern::smtp::ReplyParser;
using tern::smtp::parse_reply;

TEST_CASE("single and multi-line replies, enhanced codes", "[smtp][reply]") {
  auto r = parse_reply("250 2.1.0 Ok\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.code == 250);
  CHECK(r.reply.esc == "2.1.0");
  CHECK(r.reply.lines == std::vector<std::string>{"Ok"});

  r = parse_reply("250-mx.remote.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 CHUNKING\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.esc.empty());
  CHECK(r.reply.lines.size() == 4);
  CHECK(r.reply.lines[3] == "CHUNKING");

  r = parse_reply("550-5.1.1 No such\r\n550 5.1.1 user here\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.esc == "5.1.1");
  CHECK(r.reply.lines == std::vector<std::string>{"No such", "user here"});

  r = parse_reply("354\r\n");  // code alone
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.code == 354);
  CHECK(parse_reply("451 2.0.0 wrong class\r\n").reply.esc.empty());  // class must match
  CHECK(parse_reply("250 Ok\n").status == ReplyParser::Status::Reply);  // bare LF accepted
}

TEST_CASE("malformed replies are errors and stay errors", "[smtp][reply]") {
  for (const char* bad : {"25 Ok\r\n", "abc Ok\r\n", "250xOk\r\n", "199 x\r\n", "600 x\r\n",
                          "250-a\r\n251 b\r\n"}) {
    INFO(bad);
    CHECK(parse_reply(bad).status == ReplyParser::Status::Error);
  }
  CHECK(parse_reply("250-a\r\n").status == ReplyParser::Status::Error);  // incomplete
  CHECK(parse_reply("250 a\r\n250 b\r\n").status == ReplyParser::Status::Error);
  ReplyParser p;
  p.feed(std::string(ReplyParser::kMaxLine + 10, '2') + "\r\n250 ok\r\n");
  CHECK(p.next().status == ReplyParser::Status::Error);
  CHECK(p.next().status == ReplyParser::Status::Error);  // sticky
  ReplyParser many;
  std::string lots;
  for (std::size_t i = 0; i < ReplyParser::kMaxLines + 1; ++i) lots += "250-x\r\n";
  many.feed(lots);
  CHECK(many.next().status == ReplyParser::Status::Error);
}

TEST_CASE("reply parser gives the same replies for every split", "[smtp][reply]") {
  const std::string in = "220 mx ESMTP\r\n250-mx\r\n250-8BITMIME\r\n250 DSN\r\n550 5.7.1 no\r\n";
  auto collect = [&](std::size_t chunk) {
    ReplyParser p;
    std::vector<std::pair<int, std::size_t>> out;
    for (std::size_t off = 0; off < in.size(); off += chunk) {
      p.feed(std::string_view(in).substr(off, chunk));
      for (;;) {
        auto r = p.next();
        if (r.status != ReplyParser::Status::Reply) break;
        out.emplace_back(r.reply.code, r.reply.lines.size());
      }
    }
    return out;
  };
  auto whole = collect(in.size());
  REQUIRE(whole.size() == 3);
  for (std::size_t c = 1; c < in.size(); ++c) CHECK(collect(c) == whole);
}

TEST_CASE("clear drops buffered input (STARTTLS injection)", "[smtp][reply]") {
  ReplyParser p;
  p.feed("220 go ahead\r\n250 injected\r\n");
  auto r = p.next();
  REQUIRE(r.reply.code == 220);
  CHECK(p.has_buffered());
  p.clear();
  CHECK_FALSE(p.has_buffered());
  CHECK(p.next().status == ReplyParser::Status::NeedMore);
}

TEST_CASE("control octets and malformed UTF-8 in a reply's text are shown escaped", "[smtp][reply]") {
  // The text goes on to ternctl's terminal, DSNs and the panel: no ESC, NUL or CR survives.
  auto r = parse_reply(std::string("451 4.3.0 \x1b]0;owned\x07 try\rlater \x00x\r\n", 35));
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.esc == "4.3.0");
  CHECK(r.reply.lines == std::vector<std::string>{"\\x1b]0;owned\\x07 try\\x0dlater \\x00x"});
  // Plain text and well-formed UTF-8 (RFC 6531 replies) are kept, a backslash too.
  r = parse_reply("550 5.1.1 C:\\path <ü@例え.jp> unknown\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.lines == std::vector<std::string>{"C:\\path <ü@例え.jp> unknown"});
  r = parse_reply("550 5.1.1 C:\\path bad \xff here\r\n");
  CHECK(r.reply.lines == std::vector<std::string>{"C:\\\\path bad \\xff here"});
}

TEST_CASE("an escaped line stays within kMaxLine (found by fuzz_smtp_reply)", "[smtp][reply]") {
  // 2,000 octets of controls would escape to 8,000: the text is cut, "..." marks it.
  auto r = parse_reply("550 " + std::string(2000, '\x01') + "\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  REQUIRE(r.reply.lines.size() == 1);
  const auto& l = r.reply.lines[0];
  CHECK(l.size() <= ReplyParser::kMaxLine);
  CHECK(l.size() > ReplyParser::kMaxLine - 8);
  CHECK(l.substr(0, 8) == "\\x01\\x01");
  CHECK(l.ends_with("..."));
  // A long well-formed UTF-8 line is not escaped, so not cut either.
  std::string utf8;
  while (utf8.size() < 2000) utf8 += "\xc3\xbc";
  r = parse_reply("550 " + utf8 + "\r\n");
  REQUIRE(r.status == ReplyParser::Status::Reply);
  CHECK(r.reply.lines[0] == utf8);
}
