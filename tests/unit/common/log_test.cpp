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
