// Pure rdata decoding of tern::dns (records.hpp).
#include "tern/dns/records.hpp"

#include <catch2/catch.hpp>

using namespace tern::dns;
using namespace std::string_literals;

TEST_CASE("decode_name", "[dns][records]") {
  std::size_t pos = 0;
  auto n = decode_name("\x02mx\x06Remote\x04test\x00"s, pos);
  REQUIRE(n);
  CHECK(*n == "mx.remote.test");
  CHECK(pos == 16);
  pos = 0;
  CHECK(decode_name("\x00"s, pos) == std::optional<std::string>(""));
  pos = 0;
  CHECK_FALSE(decode_name("\x02mx"s, pos));            // no terminating root
  pos = 0;
  CHECK_FALSE(decode_name("\x05mx"s, pos));            // label runs past the end
  pos = 0;
  CHECK_FALSE(decode_name("\xc0\x0c"s, pos));          // compression pointer
  std::string longname;
  for (int i = 0; i < 5; ++i) longname += "\x3f" + std::string(63, 'a');
  longname += '\0';
  pos = 0;
  CHECK_FALSE(decode_name(longname, pos));              // over 255 octets
}

TEST_CASE("decode_mx and the null MX rule", "[dns][records]") {
  auto mx = decode_mx("\x00\x0a\x02mx\x04test\x00"s);
  REQUIRE(mx);
  CHECK(mx->preference == 10);
  CHECK(mx->host == "mx.test");
  CHECK_FALSE(decode_mx("\x00\x0a\x02mx\x04test\x00junk"s));
  CHECK_FALSE(decode_mx("\x00"s));

  AnswerMeta ok;
  ok.status = Status::ok;
  auto null_mx = make_mx_answer(ok, {{0, ""}});
  CHECK(null_mx.null_mx);
  CHECK(null_mx.records.empty());
  auto mixed = make_mx_answer(ok, {{20, "b"}, {0, ""}, {10, "a"}, {20, "c"}});
  CHECK_FALSE(mixed.null_mx);
  REQUIRE(mixed.records.size() == 3);
  CHECK(mixed.records[0].host == "a");
  CHECK(mixed.records[1].host == "b");  // stable among equal preferences
  CHECK(mixed.records[2].host == "c");
  CHECK(make_mx_answer(ok, {}).status == Status::no_data);
  // Records that name no host are skipped; when none is left it is not "no MX" (that
  // would mean the domain's own address) but a temporary failure.
  auto some_bad = make_mx_answer(ok, {{10, "a"}}, 2);
  CHECK(some_bad.status == Status::ok);
  CHECK(some_bad.records.size() == 1);
  auto all_bad = make_mx_answer(ok, {}, 1);
  CHECK(all_bad.status == Status::temp_fail);
  CHECK(all_bad.error.find("malformed MX") != std::string::npos);
  auto root_and_bad = make_mx_answer(ok, {{0, ""}}, 1);
  CHECK_FALSE(root_and_bad.null_mx);
  CHECK(root_and_bad.status == Status::temp_fail);
}

TEST_CASE("MX targets must be host names", "[dns][records]") {
  CHECK(decode_mx("\x00\x0a\x04mx-1\x01_\x04test\x00"s));
  CHECK_FALSE(decode_mx("\x00\x0a\x06mx\x1b[2J\x04test\x00"s));  // ESC
  CHECK_FALSE(decode_mx("\x00\x0a\x04mx\r\n\x04test\x00"s));      // CR LF: a forged log line
  CHECK_FALSE(decode_mx("\x00\x0a\x03m x\x04test\x00"s));
  CHECK_FALSE(decode_mx("\x00\x0a\x03m\0x\x04test\x00"s));
  CHECK(mail_host_name(""));
  CHECK(mail_host_name("mx.example.test"));
  CHECK_FALSE(mail_host_name("mx..test"));
  CHECK_FALSE(mail_host_name("mx.test."));
  CHECK_FALSE(mail_host_name("\xc3\xbc.test"));
}

TEST_CASE("decode_txt joins character-strings", "[dns][records]") {
  CHECK(decode_txt("\x03" "abc\x02" "de"s) == std::optional<std::string>("abcde"));
  CHECK(decode_txt("\x00"s) == std::optional<std::string>(""));
  CHECK_FALSE(decode_txt("\x05" "ab"s));
  CHECK_FALSE(decode_txt(""));
}

TEST_CASE("addresses and reverse names", "[dns][records]") {
  CHECK(decode_a("\xc0\x00\x02\x01"s) == std::optional<std::string>("192.0.2.1"));
  CHECK_FALSE(decode_a("\x01\x02\x03"s));
  std::string v6(16, '\0');
  v6[15] = 1;
  CHECK(decode_aaaa(v6) == std::optional<std::string>("::1"));
  CHECK(reverse_name("192.0.2.1") == std::optional<std::string>("1.2.0.192.in-addr.arpa"));
  CHECK(reverse_name("2001:db8::1") ==
        std::optional<std::string>(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"));
  CHECK_FALSE(reverse_name("mx.example"));
}
