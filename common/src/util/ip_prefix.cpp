#include "tern/util/ip_prefix.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace tern::util {

std::string ip_limit_key(std::string_view ip, unsigned v6_prefix) {
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN || ip.find(':') == std::string_view::npos)
    return std::string(ip);
  std::string s(ip);
  if (auto pct = s.find('%'); pct != std::string::npos) s.erase(pct);  // zone id (fe80::1%eth0)
  unsigned char a[16];
  if (inet_pton(AF_INET6, s.c_str(), a) != 1) return std::string(ip);
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, 12) == 0) {
    char v4[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, a + 12, v4, sizeof v4)) return v4;
  }
  if (v6_prefix > 128) v6_prefix = 128;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bit = i * 8;
    if (bit >= v6_prefix) a[i] = 0;
    else if (bit + 8 > v6_prefix) a[i] &= static_cast<unsigned char>(0xff << (8 - (v6_prefix - bit)));
  }
  char out[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, a, out, sizeof out)) return std::string(ip);
  if (v6_prefix == 128) return out;
  return std::string(out) + "/" + std::to_string(v6_prefix);
}

}  // namespace tern::util
