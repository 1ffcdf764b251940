#pragma once
// The key per-IP limits count a client under (connections per IP, failed logins per
// IP). An IPv4 client is its address; an IPv6 client is its /N network (default /64:
// one subscriber or host usually owns a whole /64 and can pick any address in it, so
// counting addresses apart would let it escape every per-IP limit). An IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) counts as the IPv4 address. Pure.
#include <string>
#include <string_view>

namespace tern::util {

// "192.0.2.7" -> "192.0.2.7"; "2001:db8:1:2:aa::1" with 64 -> "2001:db8:1:2::/64";
// "::ffff:192.0.2.7" -> "192.0.2.7". `v6_prefix` is clamped to 0..128. Anything that
// is not an address literal is returned unchanged (the caller's key, e.g. "unix").
std::string ip_limit_key(std::string_view ip, unsigned v6_prefix = 64);

}  // namespace tern::util
