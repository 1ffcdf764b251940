// Authentication-Results (RFC 8601): our field parses back with the values we put in;
// authserv-id extraction; removal of fields with our id only.
#include <catch2/catch.hpp>

#include "tern/authres/authres.hpp"

using namespace tern;

TEST_CASE("Authentication-Results formatting", "[authres]") {
  std::vector<authres::MethodResult> r = {
      {"spf", "pass", "192.0.2.1 is allowed", {{"smtp.mailfrom", "user@example.com"}}},
      {"dkim", "pass", "", {{"header.d", "example.com"}, {"header.s", "s1"}, {"header.b", "ab/c+d=="}}},
      {"dmarc", "fail", "p=reject dis=reject (sic)", {{"header.from", "example.com"}}}};
  std::string h = authres::format_header("mx.example.net", r);
  CHECK(h ==
        "Authentication-Results: mx.example.net;\r\n"
        "\tspf=pass (192.0.2.1 is allowed) smtp.mailfrom=user@example.com;\r\n"
        "\tdkim=pass header.d=example.com header.s=s1 header.b=\"ab/c+d==\";\r\n"
        "\tdmarc=fail (p=reject dis=reject \\(sic\\)) header.from=example.com\r\n");
  CHECK(authres::format_header("mx", {}) == "Authentication-Results: mx; none\r\n");
}

TEST_CASE("authserv-id", "[authres]") {
  CHECK(authres::authserv_id(" mx.example.net; spf=pass") == "mx.example.net");
  CHECK(authres::authserv_id(" (comment) mx.example.net 1; none") == "mx.example.net");
  CHECK(authres::authserv_id("\r\n\t\"mx.example.net\"; none") == "mx.example.net");
  CHECK(authres::authserv_id("mx.example.net;") == "mx.example.net");
  CHECK_FALSE(authres::authserv_id("  ; none"));
  CHECK_FALSE(authres::authserv_id(""));
}

TEST_CASE("remove only the fields with our authserv-id", "[authres]") {
  std::string msg =
      "Authentication-Results: MX.example.net; dkim=pass\r\n"
      "Received: x\r\n"
      "Authentication-Results: other.example.org;\r\n spf=pass\r\n"
      "Authentication-Results:\r\n (forged) mx.example.net; spf=pass\r\n"
      "Subject: Authentication-Results: mx.example.net\r\n"
      "\r\n"
      "Authentication-Results: mx.example.net; body is not touched\r\n";
  int n = 0;
  std::string out = authres::remove_ours(msg, "mx.example.net", &n);
  CHECK(n == 2);
  CHECK(out ==
        "Received: x\r\n"
        "Authentication-Results: other.example.org;\r\n spf=pass\r\n"
        "Subject: Authentication-Results: mx.example.net\r\n"
        "\r\n"
        "Authentication-Results: mx.example.net; body is not touched\r\n");
  CHECK(authres::remove_ours("Subject: x\r\n\r\nbody", "mx.example.net", &n) == "Subject: x\r\n\r\nbody");
  CHECK(n == 0);
}
