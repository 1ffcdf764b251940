#include "tern/spf/ip.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace tern::spf {

std::optional<IpAddress> IpAddress::parse(std::string_view text, bool map_v4) {
  if (text.size() > 64) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (map_v4 && std::memcmp(ip.bytes.data(), mapped, 12) == 0) {
      std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
      std::memset(ip.bytes.data() + 4, 0, 12);
      return ip;
    }
    ip.v6 = true;
    return ip;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string IpAddress::macro_i() const {
  if (!v6) return to_string();
  // Note: RFC 7208 §7.3 leaves the nibbles' case open (its example is lower case); the
  // RFC 7208 test suite expects upper case in an explanation. DNS names are compared
  // case-insensitively, so only the explanation text sees the difference.
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += hex[bytes[i] >> 4];
    out += '.';
    out += hex[bytes[i] & 15];
  }
  return out;
}

std::string IpAddress::reverse_name() const {
  std::string out;
  if (!v6) {
    for (int i = 3; i >= 0; --i) out += std::to_string(bytes[i]) + ".";
    return out + "in-addr.arpa";
  }
  static const char* hex = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out += hex[bytes[i] & 15];
    out += '.';
    out += hex[bytes[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

bool IpAddress::matches(const IpAddress& net, int prefix) const {
  if (v6 != net.v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes.data(), net.bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (net.bytes[full] & mask);
}

}  // namespace tern::spf
