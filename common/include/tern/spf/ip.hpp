#pragma once
// IP addresses for SPF matching: parsing (inet_pton), prefix comparison, and the
// forms the macros need (§7.3: dotted nibbles for IPv6, "in-addr"/"ip6"). Pure.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::spf {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

  // "192.0.2.1" or "2001:db8::1"; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes
  // the IPv4 address (RFC 7208 §5: "treated as IPv4") unless map_v4 is false (an ip6:
  // network in a record stays IPv6). nullopt for anything else.
  static std::optional<IpAddress> parse(std::string_view text, bool map_v4 = true);
  std::string to_string() const;
  // %{i}: dotted quad, or 32 dot-separated nibbles for IPv6.
  std::string macro_i() const;
  // Reverse name for PTR: "1.2.0.192.in-addr.arpa" / nibbles + "ip6.arpa".
  std::string reverse_name() const;
  bool matches(const IpAddress& net, int prefix) const;  // same family and prefix equal
  bool operator==(const IpAddress&) const = default;
};

}  // namespace tern::spf
