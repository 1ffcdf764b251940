// MIME structure, ENVELOPE and BODYSTRUCTURE: corpus messages and hand-made edge cases.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "tern/mime/address.hpp"
#include "tern/mime/imap.hpp"
#include "tern/mime/message.hpp"

using namespace tern::mime;

namespace {

std::string crlf(std::string s) {
  std::string o;
  for (char c : s) {
    if (c == '\n') o += '\r';
    o += c;
  }
  return o;
}

std::string corpus(const std::string& name) {
  std::ifstream in(std::string(TERN_TEST_DATA) + "/mime/" + name, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("simple message: header index, body offsets, line count", "[mime]") {
  std::string msg = crlf("From: a@b.test\nSubject: hi\n there\n\nline1\nline2\n");
  Message m = parse(msg);
  REQUIRE(m.root.headers.size() == 2);
  CHECK(m.root.headers[0].name(msg) == "From");
  CHECK(m.root.headers[1].raw_value(msg) == " hi\r\n there");
  CHECK(unfold(m.root.headers[1].raw_value(msg)) == "hi there");
  CHECK(msg.substr(m.root.body_begin, m.root.body_size()) == "line1\r\nline2\r\n");
  CHECK(m.root.body_lines == 2);
  CHECK(m.root.kind == PartKind::leaf);
  CHECK(body_structure(msg, m.root, false) ==
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)");
}

TEST_CASE("multipart: the CRLF before a boundary belongs to the boundary", "[mime]") {
  std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=\"xx\"\n\npre\n--xx\nContent-Type: text/plain\n\none\n"
      "--xx\n\ntwo\n\n--xx--\nepi\n");
  Message m = parse(msg);
  REQUIRE(m.root.kind == PartKind::multipart);
  REQUIRE(m.root.children.size() == 2);
  const Part& a = m.root.children[0];
  const Part& b = m.root.children[1];
  CHECK(msg.substr(a.body_begin, a.body_size()) == "one");
  CHECK(a.body_lines == 0);
  CHECK(msg.substr(b.body_begin, b.body_size()) == "two\r\n");
  CHECK(b.body_lines == 1);
  CHECK(!b.has_content_type);
  CHECK(body_structure(msg, m.root, true) ==
        "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)"
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
        " \"mixed\" (\"boundary\" \"xx\") NIL NIL NIL)");
}

TEST_CASE("an outer boundary ends an inner multipart that was never closed", "[mime]") {
  std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n"
      "--i\n\ninner1\n--o\n\nouter2\n--o--\n");
  Message m = parse(msg);
  REQUIRE(m.root.children.size() == 2);
  REQUIRE(m.root.children[0].kind == PartKind::multipart);
  REQUIRE(m.root.children[0].children.size() == 1);
  const Part& in1 = m.root.children[0].children[0];
  CHECK(msg.substr(in1.body_begin, in1.body_size()) == "inner1");
  const Part& o2 = m.root.children[1];
  CHECK(msg.substr(o2.body_begin, o2.body_size()) == "outer2");
}

TEST_CASE("message/rfc822: envelope and body of the embedded message", "[mime]") {
  std::string msg = corpus("06-rfc822.eml");
  Message m = parse(msg);
  REQUIRE(m.root.children.size() == 2);
  const Part& fwd = m.root.children[1];
  REQUIRE(fwd.kind == PartKind::message);
  REQUIRE(fwd.children.size() == 1);
  const Part& inner = fwd.children[0];
  CHECK(inner.kind == PartKind::multipart);
  CHECK(inner.children.size() == 2);
  CHECK(envelope(msg, inner).find("\"original\" ((\"Carol\" NIL \"carol\" \"example.test\"))") != std::string::npos);
  std::string bs = body_structure(msg, m.root, true);
  // The close delimiter's line break stays in the embedded message (as Dovecot counts).
  CHECK(bs.find("(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 375 (") != std::string::npos);
  CHECK(bs.find(" 18 NIL (\"inline\" NIL) NIL NIL)") != std::string::npos);
}

TEST_CASE("every extension field of a leaf", "[mime]") {
  std::string msg = corpus("04-attachment.eml");
  Message m = parse(msg);
  REQUIRE(m.root.children.size() == 2);
  std::string bs = body_structure(msg, m.root.children[1], true);
  CHECK(bs ==
        "(\"application\" \"pdf\" (\"name\" \"report.pdf\") \"<part2@example.test>\" \"The quarterly report\" "
        "\"base64\" 1402 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" \"report.pdf\" \"size\" \"1024\")) "
        "(\"en\" \"de\") \"http://example.test/report.pdf\")");
  std::string one = crlf("Content-Language: fr\n\nx");
  CHECK(body_structure(one, parse(one).root, true).find(" NIL (\"fr\") NIL)") != std::string::npos);
}

TEST_CASE("multipart/digest parts default to message/rfc822", "[mime]") {
  std::string msg = corpus("18-digest.eml");
  Message m = parse(msg);
  REQUIRE(m.root.children.size() == 2);
  CHECK(m.root.children[0].type == "message");
  CHECK(m.root.children[0].kind == PartKind::message);
  CHECK(m.root.children[0].children[0].header(msg, "subject") == std::optional<std::string_view>(" one"));
}

TEST_CASE("broken MIME is tolerated", "[mime]") {
  for (const char* name : {"12-missing-boundary.eml", "13-no-boundary-param.eml", "14-bad-content-type.eml",
                           "15-headers-only.eml", "20-empty-parts.eml", "22-message-no-crlf-end.eml",
                           "23-rfc822-attachment-base64.eml"}) {
    INFO(name);
    std::string msg = corpus(name);
    Message m = parse(msg);
    std::string bs = body_structure(msg, m.root, true);
    CHECK(!bs.empty());
    CHECK(bs.front() == '(');
    CHECK(bs.back() == ')');
  }
  Message m12 = parse(corpus("12-missing-boundary.eml"));
  CHECK(m12.root.children.size() == 2);
  Message m13 = parse(corpus("13-no-boundary-param.eml"));
  CHECK(m13.root.kind == PartKind::multipart);  // no boundary: a multipart without parts
  CHECK(m13.root.children.empty());
  Message m15 = parse(corpus("15-headers-only.eml"));
  CHECK(m15.root.body_size() == 0);
  Message m23 = parse(corpus("23-rfc822-attachment-base64.eml"));
  // RFC 2046 5.2.1 forbids an encoded message/rfc822; parsed as a message anyway
  // (Dovecot too), so the BODYSTRUCTURE has the fields clients expect for the type.
  CHECK(m23.root.children.at(0).kind == PartKind::message);
}

TEST_CASE("nesting and part limits keep deep parts as leaves", "[mime][limits]") {
  std::string msg;
  for (int i = 0; i < 150; ++i) msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  msg += "\r\ndeep\r\n";
  Message m = parse(msg);
  CHECK(m.limit_hit);
  int depth = 0;
  for (const Part* p = &m.root; !p->children.empty(); p = &p->children[0]) ++depth;
  CHECK(depth < 100);
  CHECK(!body_structure(msg, m.root, true).empty());

  std::string many = "Content-Type: multipart/mixed; boundary=z\r\n\r\n";
  for (int i = 0; i < 12000; ++i) many += "--z\r\n\r\nx\r\n";
  many += "--z--\r\n";
  Message mm = parse(many);
  CHECK(mm.limit_hit);
  CHECK(mm.parts <= 10000);
  CHECK(mm.root.children.size() == 9999);
}

TEST_CASE("address lists: names, groups, routes, broken", "[mime][address]") {
  auto l = parse_address_list(" \"Doe, John\" <john@x.test>, (c) bob@y.test (Bob B), g: a@z.test;, <@r.test:u@v.test>, word");
  REQUIRE(l.size() == 7);
  CHECK(l[0].name == std::optional<std::string>("Doe, John"));
  CHECK(l[0].mailbox == "john");
  CHECK(l[0].host == "x.test");
  CHECK(l[1].name == std::optional<std::string>("Bob B"));
  CHECK(l[2].kind == Address::Kind::group_start);
  CHECK(l[2].mailbox == "g");
  CHECK(l[3].mailbox == "a");
  CHECK(l[4].kind == Address::Kind::group_end);
  CHECK(l[5].route == std::optional<std::string>("@r.test"));
  CHECK(l[5].mailbox == "u");
  CHECK(l[6].mailbox == "word");
  CHECK(l[6].host == "MISSING_DOMAIN");
  CHECK(parse_address_list("").empty());
  CHECK(parse_address_list(" , ,").empty());
}

TEST_CASE("ENVELOPE: defaults, folding, 8-bit as literal, NIL for absent", "[mime][envelope]") {
  std::string msg = corpus("16-folded.eml");
  Message m = parse(msg);
  std::string env = envelope(msg, m.root);
  // A TAB starting a continuation line becomes a space; WSP after the colon goes, the
  // one after a folded empty first line stays (both as Dovecot shows them).
  CHECK(env.find("\"a long subject that is folded over two lines\"") != std::string::npos);
  CHECK(env.find("\"<parent@example.test>\" \" <folded@example.test>\")") != std::string::npos);
  std::string dup = corpus("27-dup-headers.eml");
  std::string ed = envelope(dup, parse(dup).root);
  CHECK(ed.find("\"second subject\"") != std::string::npos);  // the last Subject
  CHECK(ed.find("((NIL NIL \"first\" \"example.test\")(NIL NIL \"second\" \"example.test\"))") !=
        std::string::npos);  // every From
  std::string u = corpus("08-utf8-headers.eml");
  Message mu = parse(u);
  std::string eu = envelope(u, mu.root);
  CHECK(eu.find("{31}\r\nGrüße aus Köln – 日本語") != std::string::npos);
  std::string none = crlf("X: y\n\nb");
  CHECK(envelope(none, parse(none).root) == "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

#include "tern/mime/cache.hpp"

TEST_CASE("cache: serialize round trip and damaged input", "[mime][cache]") {
  for (const char* name : {"04-attachment.eml", "06-rfc822.eml", "10-rfc2231.eml", "36-message-in-message-in-multipart.eml"}) {
    INFO(name);
    std::string msg = corpus(name);
    auto c = build_cached(msg);
    std::string bytes = serialize(c);
    auto back = deserialize(bytes);
    REQUIRE(back);
    CHECK(back->message_size == msg.size());
    CHECK(back->body_structure == body_structure(msg, back->message.root, true));
    CHECK(back->envelope == envelope(msg, back->message.root));
    CHECK(serialize(*back) == bytes);
    for (std::size_t cut = 0; cut < bytes.size(); cut += 7) CHECK(!deserialize(bytes.substr(0, cut)));
    std::string other = bytes;
    other[0] = 99;  // another version
    CHECK(!deserialize(other));
  }
}
