#include <catch2/catch.hpp>

#include "tern/net/listen_fds.hpp"

using tern::net::parse_listen_fds;

TEST_CASE("TERN_LISTEN_FDS parsing", "[net][listen_fds]") {
  std::string bad;
  auto m = parse_listen_fds("127.0.0.1:25=3,[::1]:25=4", &bad);
  CHECK(bad.empty());
  REQUIRE(m.size() == 2);
  CHECK(m.at("127.0.0.1:25") == 3);
  CHECK(m.at("[::1]:25") == 4);

  m = parse_listen_fds(" 0.0.0.0:587 = 7 ,, ", &bad);
  CHECK(m.at("0.0.0.0:587") == 7);
  CHECK(bad.empty());

  m = parse_listen_fds("noequals,=5,1.2.3.4:25=x,1.2.3.4:26=-1,1.2.3.4:27=8", &bad);
  REQUIRE(m.size() == 1);
  CHECK(m.at("1.2.3.4:27") == 8);
  CHECK(bad == "noequals,=5,1.2.3.4:25=x,1.2.3.4:26=-1");
  CHECK(parse_listen_fds("").empty());
}
