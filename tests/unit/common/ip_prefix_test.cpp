// The per-IP limit key: IPv4 as is, IPv6 per /N network, IPv4-mapped as IPv4.
#include <catch2/catch.hpp>

#include "tern/util/ip_prefix.hpp"

using tern::util::ip_limit_key;

TEST_CASE("ip_limit_key groups IPv6 by prefix", "[util][ip]") {
  struct Row {
    const char* ip;
    unsigned prefix;
    const char* key;
  };
  const Row rows[] = {
      {"192.0.2.7", 64, "192.0.2.7"},
      {"2001:db8:1:2:aa::1", 64, "2001:db8:1:2::/64"},
      {"2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"},
      {"2001:DB8:1:2::9", 64, "2001:db8:1:2::/64"},
      {"2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
      {"2001:db8:1:2:aa::1", 56, "2001:db8:1::/56"},
      {"2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56"},
      {"2001:db8::1", 128, "2001:db8::1"},
      {"2001:db8::1", 200, "2001:db8::1"},  // clamped to 128
      {"::ffff:192.0.2.7", 64, "192.0.2.7"},
      {"::1", 64, "::/64"},
      {"fe80::1%eth0", 64, "fe80::/64"},
      {"not an ip", 64, "not an ip"},
      {"", 64, ""},
  };
  for (const auto& r : rows) {
    INFO(r.ip << " /" << r.prefix);
    CHECK(ip_limit_key(r.ip, r.prefix) == r.key);
  }
}
