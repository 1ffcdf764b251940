#include "tern/log/log.hpp"

#include <catch2/catch.hpp>

#include <set>

using tern::log::mask_auth;

TEST_CASE("mask_auth hides credentials", "[log]") {
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      // SMTP AUTH with an initial response (RFC 4954)
      {"AUTH PLAIN AGJvYgBzZWNyZXQ=", "AUTH PLAIN ********"},
      {"auth login Ym9i", "auth login ********"},
      {"AUTH LOGIN", "AUTH LOGIN"},
      {"AUTH", "AUTH"},
      // POP3 (RFC 1939): the whole rest of PASS is the password
      {"PASS secret", "PASS ********"},
      {"pass two words", "pass ********"},
      {"USER bob", "USER bob"},
      {"APOP bob c4c9334bac560ecc979e58001b3e22fb", "APOP bob ********"},
      // IMAP (RFC 9051)
      {"a1 LOGIN bob secret", "a1 LOGIN bob ********"},
      {"a1 login \"bob\" \"sec ret\"", "a1 login ********"},
      {"a1 LOGIN {3}", "a1 LOGIN ********"},
      {"a2 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=", "a2 AUTHENTICATE PLAIN ********"},
      {"a2 AUTHENTICATE PLAIN", "a2 AUTHENTICATE PLAIN"},
      // everything else unchanged
      {"MAIL FROM:<a@b>", "MAIL FROM:<a@b>"},
      {"a3 SELECT INBOX", "a3 SELECT INBOX"},
      {"", ""},
  };
  for (auto& c : cases) {
    INFO(c.in);
    CHECK(mask_auth(c.in) == c.out);
  }
}

TEST_CASE("parse_level", "[log]") {
  spdlog::level::level_enum l{};
  CHECK(tern::log::parse_level("debug", l));
  CHECK(l == spdlog::level::debug);
  CHECK(tern::log::parse_level("WARN", l));
  CHECK(l == spdlog::level::warn);
  CHECK(tern::log::parse_level("error", l));
  CHECK(l == spdlog::level::err);
  CHECK_FALSE(tern::log::parse_level("loud", l));
}

TEST_CASE("next_id is unique and short", "[log]") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(tern::log::next_id());
  CHECK(ids.size() == 1000);
  CHECK(ids.begin()->size() == 10);
}

TEST_CASE("init sets the level", "[log]") {
  tern::log::init("warn", "test");
  CHECK_FALSE(spdlog::should_log(spdlog::level::info));
  CHECK(spdlog::should_log(spdlog::level::warn));
  tern::log::init("info", "test");
  CHECK(spdlog::should_log(spdlog::level::info));
}

TEST_CASE("mask_auth splits on any whitespace", "[log]") {
  CHECK(tern::log::mask_auth("AUTH\tPLAIN\tAGJvYgBzZWNyZXQ=") == "AUTH\tPLAIN\t********");
  CHECK(tern::log::mask_auth("AUTH PLAIN\tAGJvYgBzZWNyZXQ=") == "AUTH PLAIN\t********");
  CHECK(tern::log::mask_auth("PASS\tsecret") == "PASS\t********");
  CHECK(tern::log::mask_auth("a1 LOGIN\tbob\tsecret") == "a1 LOGIN\tbob\t********");
}

TEST_CASE("escape: peer values cannot forge or hide log text", "[log]") {
  using tern::log::escape;
  struct {
    std::string in;
    std::string out;
  } cases[] = {
      {"mail.example.com", "mail.example.com"},
      {"a\r\n2026-01-01 tern-mta info: forged", "a\\x0d\\x0a2026-01-01 tern-mta info: forged"},
      {"tab\there", "tab\\x09here"},
      {"\x1b[31mred", "\\x1b[31mred"},
      {"del\x7f", "del\\x7f"},
      {"back\\slash", "back\\\\slash"},
      {"caf\xc3\xa9", "caf\xc3\xa9"},                  // UTF-8 stays
      {"c1\xc2\x85nel", "c1\\xc2\\x85nel"},             // U+0085 (C1)
      {"ls\xe2\x80\xa8sep", "ls\\xe2\\x80\\xa8sep"},   // U+2028
      {"ps\xe2\x80\xa9", "ps\\xe2\\x80\\xa9"},         // U+2029
      {"bad\xff\xc3", "bad\\xff\\xc3"},                // malformed
      {"over\xc0\xafl", "over\\xc0\\xafl"},            // overlong '/'
      {std::string("nul\0x", 5), "nul\\x00x"},
  };
  for (auto& c : cases) {
    INFO(c.in);
    CHECK(escape(c.in) == c.out);
  }
  CHECK(escape(std::string(600, 'a'), 10) == "aaaaaaaaaa...");
}
