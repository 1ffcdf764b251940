// BODY[section], BINARY, transfer decoding, RFC 2047/2231, SEARCH text helpers.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "tern/mime/decode.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/search.hpp"
#include "tern/mime/section.hpp"

using namespace tern::mime;

namespace {
std::string corpus(const std::string& name) {
  std::ifstream in(std::string(TERN_TEST_DATA) + "/mime/" + name, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
std::string body(std::string_view msg, const Message& m, std::string_view spec) {
  auto s = parse_section(spec);
  REQUIRE(s);
  return extract_section(msg, m, *s).value_or("<none>");
}
}  // namespace

TEST_CASE("section specs: valid and invalid", "[mime][section]") {
  struct Row {
    const char* spec;
    bool ok;
  } rows[] = {{"", true},          {"1", true},         {"1.2.3", true},      {"HEADER", true},
              {"TEXT", true},       {"1.MIME", true},    {"MIME", false},      {"0", false},
              {"1.0", false},       {"1.", false},       {"1..2", false},      {"header.fields (From To)", true},
              {"HEADER.FIELDS ()", false}, {"HEADER.FIELDS", false}, {"HEADER.FIELDS.NOT (\"X-A\" B)", true},
              {"2.HEADER.FIELDS (a", false}, {"FOO", false}, {"1x", false}, {"99999999999", false}};
  for (const auto& r : rows) {
    INFO(r.spec);
    CHECK(parse_section(r.spec).has_value() == r.ok);
  }
  CHECK(!parse_section("1.HEADER", true));
  CHECK(parse_section("1.2", true));
  auto s = parse_section("4.2.header.fields.not (X Y)");
  REQUIRE(s);
  CHECK(section_name(*s) == "4.2.HEADER.FIELDS.NOT (X Y)");
}

TEST_CASE("BODY[section] on nested multiparts and message/rfc822", "[mime][section]") {
  std::string msg = corpus("06-rfc822.eml");
  Message m = parse(msg);
  CHECK(body(msg, m, "1") == "Forwarded message below.");
  CHECK(body(msg, m, "2.1") == "inner text");
  CHECK(body(msg, m, "2.2") == "AAECAwQ=");
  CHECK(body(msg, m, "2.HEADER").rfind("From: Carol <carol@example.test>\r\n", 0) == 0);
  CHECK(body(msg, m, "2.HEADER.FIELDS (subject)") == "Subject: original\r\n\r\n");
  CHECK(body(msg, m, "2.TEXT").rfind("--inner\r\n", 0) == 0);
  CHECK(body(msg, m, "2.MIME") == "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n");
  CHECK(body(msg, m, "1.HEADER") == "<none>");  // text/plain is not a message
  CHECK(body(msg, m, "3") == "<none>");
  CHECK(body(msg, m, "2.3") == "<none>");
  CHECK(body(msg, m, "1.1") == "<none>");
  CHECK(body(msg, m, "") == msg);
  std::string hdr = body(msg, m, "HEADER");
  CHECK(hdr.size() == m.root.body_begin);
  CHECK(hdr.substr(hdr.size() - 4) == "\r\n\r\n");
  std::string notf = body(msg, m, "HEADER.FIELDS.NOT (From To Date MIME-Version Content-Type)");
  CHECK(notf == "Subject: Fwd: original\r\n\r\n");

  std::string one = corpus("01-simple.eml");
  Message m1 = parse(one);
  CHECK(body(one, m1, "1") == body(one, m1, "TEXT"));
  CHECK(body(one, m1, "1.MIME") == body(one, m1, "HEADER"));

  std::string deep = corpus("24-nested-rfc822-twice.eml");
  Message md = parse(deep);
  CHECK(body(deep, md, "1.1") == "From: carol@example.test\r\nSubject: deep\r\nDate: Tue, 22 Dec 2026 04:00:00 +0000\r\n\r\ndeepest body\r\n");
  CHECK(body(deep, md, "1.1.1") == "deepest body\r\n");
  CHECK(body(deep, md, "1.HEADER.FIELDS (SUBJECT)") == "Subject: Fwd: deep\r\n\r\n");
}

TEST_CASE("partial <o.n>", "[mime][section]") {
  CHECK(apply_partial("abcdef", 0, 3) == "abc");
  CHECK(apply_partial("abcdef", 4, 10) == "ef");
  CHECK(apply_partial("abcdef", 6, 1).empty());
  CHECK(apply_partial("abcdef", 2) == "cdef");
}

TEST_CASE("BINARY decodes base64 and quoted-printable; unknown CTE is an error", "[mime][binary]") {
  std::string msg = corpus("04-attachment.eml");
  Message m = parse(msg);
  auto r = extract_binary(msg, m, {2});
  REQUIRE(r.error == BinaryError::none);
  REQUIRE(r.data.size() == 1024);
  for (int i = 0; i < 1024; ++i) CHECK(static_cast<unsigned char>(r.data[static_cast<std::size_t>(i)]) == i % 256);
  std::string alt = corpus("03-multipart-alt.eml");
  Message ma = parse(alt);
  CHECK(extract_binary(alt, ma, {1}).data == "Hello \xc3\xa9t\xc3\xa9\r\nsecond line");
  CHECK(extract_binary(alt, ma, {9}).error == BinaryError::no_such_part);
  std::string odd = "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n";
  Message mo = parse(odd);
  CHECK(extract_binary(odd, mo, {1}).error == BinaryError::unknown_cte);
  CHECK(decode_quoted_printable("a=3Db=\r\nc  \r\nd=ZZ") == "a=bc\r\nd=ZZ");
  CHECK(decode_base64_lenient("aGVs\r\nbG8=junk") == "hello");
}

TEST_CASE("RFC 2047 encoded words and 8-bit headers decode to UTF-8", "[mime][decode]") {
  CHECK(decode_header_value(" =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?= and =?ISO-8859-1?B?bmHvdmU=?=") ==
        "Caf\xc3\xa9 cr\xc3\xa8me and na\xc3\xafve");
  CHECK(decode_header_value("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab");  // RFC 2047 6.2
  CHECK(decode_header_value("=?utf-8?q?a?= x =?utf-8?q?b?=") == "a x b");
  CHECK(decode_header_value("=?bogus-cs?q?abc?=") == "abc");
  CHECK(decode_header_value("=?utf-8?x?abc?=") == "=?utf-8?x?abc?=");
  CHECK(decode_header_value("Caf\xe9") == "Caf\xc3\xa9");  // Latin-1 8-bit header
  CHECK(decode_header_value("Gr\xc3\xbc\xc3\x9f""e") == "Gr\xc3\xbc\xc3\x9f""e");
  CHECK(decode_header_value("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=") == "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  CHECK(to_utf8("x", "no-such-charset") == std::nullopt);
}

TEST_CASE("RFC 2231 parameters: continuations and charsets", "[mime][decode]") {
  std::string msg = corpus("10-rfc2231.eml");
  Message m = parse(msg);
  REQUIRE(m.root.children.size() == 2);
  CHECK(part_filename(m.root.children[0]) == std::optional<std::string>("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt"));
  auto ps = decode_params(m.root.children[0].params);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].name == "name");
  CHECK(ps[0].value == "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.txt");
  auto t = decode_params(m.root.children[1].params);
  REQUIRE(t.size() == 2);
  CHECK(t[1].name == "title");
  CHECK(t[1].value == "long title");
}

TEST_CASE("SEARCH helpers: decoded, case-insensitive substrings", "[mime][search]") {
  std::string ew = corpus("07-encoded-words.eml");
  Message me = parse(ew);
  CHECK(header_contains(ew, me.root, "subject", TextNeedle("CAFÉ CRÈME")));
  CHECK(header_contains(ew, me.root, "to", TextNeedle("andré")));
  CHECK(!header_contains(ew, me.root, "subject", TextNeedle("tea")));
  CHECK(header_contains(ew, me.root, "subject", TextNeedle("")));
  CHECK(!header_contains(ew, me.root, "x-nothing", TextNeedle("")));
  CHECK(body_contains(ew, me, TextNeedle("café")));  // QP + ISO-8859-1 body
  std::string alt = corpus("03-multipart-alt.eml");
  Message ma = parse(alt);
  CHECK(body_contains(alt, ma, TextNeedle("ÉTÉ")));
  CHECK(!body_contains(alt, ma, TextNeedle("preamble")));
  CHECK(text_contains(alt, ma, TextNeedle("alternative")));
  std::string fwd = corpus("06-rfc822.eml");
  Message mf = parse(fwd);
  CHECK(body_contains(fwd, mf, TextNeedle("carol@example")));  // embedded header is body text
  CHECK(!body_contains(fwd, mf, TextNeedle("AAECAwQ")));        // attachments are not searched
  std::string u = corpus("08-utf8-headers.eml");
  Message mu = parse(u);
  CHECK(header_contains(u, mu.root, "from", TextNeedle("ZOË")));
  CHECK(body_contains(u, mu, TextNeedle("ÜNÏCÖDÉ")));
}
