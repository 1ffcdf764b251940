// Date and Message-ID added to submitted messages that lack them (RFC 6409 §8.2/§8.3).
#include "submission_fields.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <regex>

using namespace tern::mta;

TEST_CASE("find_origination_fields reads the header block only", "[submission]") {
  auto f = find_origination_fields("From: a@x\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n", true);
  REQUIRE(f);
  CHECK(f->has_date);
  CHECK_FALSE(f->has_message_id);
  // Names are case-insensitive; obsolete WSP before the colon counts.
  f = find_origination_fields("MESSAGE-ID : <a@b>\r\ndate:x\r\n\r\n", true);
  REQUIRE(f);
  CHECK(f->has_date);
  CHECK(f->has_message_id);
  // A "Date:" in the body, a continuation line or a longer name is not the field.
  f = find_origination_fields("Subject: hi\r\n Date: folded\r\nDated: no\r\nMessage-IDs: no\r\n"
                              "Resent-Date: no\r\n\r\nDate: body\r\nMessage-ID: <body@x>\r\n", true);
  REQUIRE(f);
  CHECK_FALSE(f->has_date);
  CHECK_FALSE(f->has_message_id);
  // Bare LF lines, and a message that is only a header block.
  f = find_origination_fields("From: a@x\nDate: x\n\nbody", true);
  REQUIRE(f);
  CHECK(f->has_date);
  f = find_origination_fields("From: a@x\r\nMessage-ID: <q@x>", true);
  REQUIRE(f);
  CHECK(f->has_message_id);
  // The header block goes past what we have: unknown.
  CHECK_FALSE(find_origination_fields("From: a@x\r\nX-Long: aaaa", false));
  CHECK_FALSE(find_origination_fields("From: a@x\r\n", false));
  CHECK(find_origination_fields("From: a@x\r\n\r\n", false));
}

TEST_CASE("rfc5322_local_date is local time with its zone", "[submission]") {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", "Europe/Berlin", 1);
  tzset();
  CHECK(rfc5322_local_date(1796124245) == "Tue, 01 Dec 2026 12:24:05 +0100");  // 11:24:05 UTC
  CHECK(rfc5322_local_date(1783250645) == "Sun, 05 Jul 2026 13:24:05 +0200");
  setenv("TZ", "America/St_Johns", 1);
  tzset();
  CHECK(rfc5322_local_date(1796124245) == "Tue, 01 Dec 2026 07:54:05 -0330");
  if (old) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

TEST_CASE("missing_origination_fields adds what is missing, nothing else", "[submission]") {
  const std::time_t now = 1796124245;
  std::string both = missing_origination_fields("From: a@x\r\nSubject: s\r\n\r\nbody\r\n", true, now, "0A1B2C3D4E",
                                                "mx.example.test");
  std::regex re("Date: [A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}\r\n"
                "Message-ID: <20261201112405\\.0A1B2C3D4E\\.[0-9a-f]{16}@mx\\.example\\.test>\r\n");
  CHECK(std::regex_match(both, re));
  CHECK(missing_origination_fields("Date: x\r\nMessage-Id: <m@x>\r\n\r\n", true, now, "T", "h") == "");
  CHECK(missing_origination_fields("Date: x\r\n\r\n", true, now, "T", "h").rfind("Message-ID: <", 0) == 0);
  CHECK(missing_origination_fields("Message-ID: <m@x>\r\n\r\n", true, now, "T", "h").rfind("Date: ", 0) == 0);
  CHECK(missing_origination_fields("From: a@x\r\nX: y", false, now, "T", "h") == "");
  // Unique each time.
  CHECK(make_message_id(now, "T", "h") != make_message_id(now, "T", "h"));
}
