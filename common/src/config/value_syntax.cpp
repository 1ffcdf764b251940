// Value syntax of the config (design §4): sizes, durations, listen addresses.
// Pure functions; errors throw ConfigError with the message text only (the caller adds
// "file:line: [table] key: ").
#include "tern/config/config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <limits>

namespace tern::config {

namespace {

std::string qstr(std::string_view s) {
  // Keep messages one line: control characters are shown as '?'.
  std::string r = "\"";
  for (char c : s) r += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  r += '"';
  return r;
}

// Digits only, no sign, no leading '+', fits in uint64.
bool parse_digits(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::uint64_t parse_size(std::string_view s) {
  auto bad = [&]() -> ConfigError {
    return ConfigError("bad size " + qstr(s) + " (use K, M or G)");
  };
  if (s.empty()) throw bad();
  std::uint64_t mult = 1;
  std::string_view digits = s;
  switch (s.back()) {
    // Design §4: K, M, G are KiB, MiB, GiB.
    case 'K': case 'k': mult = 1ull << 10; break;
    case 'M': case 'm': mult = 1ull << 20; break;
    case 'G': case 'g': mult = 1ull << 30; break;
    default: break;
  }
  if (mult != 1) digits.remove_suffix(1);
  std::uint64_t n = 0;
  if (!parse_digits(digits, n)) throw bad();
  if (n > std::numeric_limits<std::uint64_t>::max() / mult) throw bad();
  return n * mult;
}

std::chrono::seconds parse_duration(std::string_view s) {
  auto bad = [&]() -> ConfigError {
    return ConfigError("bad duration " + qstr(s) + " (use s, m, h or d, e.g. \"30s\")");
  };
  if (s.size() < 2) throw bad();
  std::uint64_t mult = 0;
  switch (s.back()) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    default: throw bad();
  }
  std::uint64_t n = 0;
  if (!parse_digits(s.substr(0, s.size() - 1), n)) throw bad();
  // Bounded far below chrono's range; the callers apply their own min/max.
  if (n > (1ull << 40) / mult) throw bad();
  return std::chrono::seconds(static_cast<std::int64_t>(n * mult));
}

Endpoint parse_endpoint(std::string_view s) {
  auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError("bad address " + qstr(s) + " (" + std::string(why) + ")");
  };
  std::string_view host, port;
  bool bracketed = false;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) throw bad("missing \"]\"");
    host = s.substr(1, close - 1);
    auto rest = s.substr(close + 1);
    if (rest.empty()) throw bad("missing \":port\"");
    if (rest.front() != ':') throw bad("expected \":port\" after \"]\"");
    port = rest.substr(1);
    bracketed = true;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) throw bad("missing \":port\"");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      throw bad("write an IPv6 address in brackets, e.g. \"[::1]:25\"");
  }
  if (host.empty()) throw bad("missing IP address");
  std::uint64_t p = 0;
  if (port.empty()) throw bad("missing port");
  if (!parse_digits(port, p) || p > 65535) throw bad("port must be a number 0-65535");

  // The host must be an IP literal (the daemons bind it; no name lookups at start).
  std::string h(host);
  char buf[INET6_ADDRSTRLEN] = {};
  Endpoint ep;
  if (bracketed) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) throw bad("not an IPv6 address");
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
  } else {
    in_addr a4{};
    if (inet_pton(AF_INET, h.c_str(), &a4) != 1)
      throw bad("not an IP address; use e.g. \"127.0.0.1:25\" or \"[::1]:25\"");
    inet_ntop(AF_INET, &a4, buf, sizeof buf);
  }
  ep.host = buf;  // canonical form, so text() matches across processes
  ep.port = static_cast<std::uint16_t>(p);
  return ep;
}

std::string Endpoint::text() const {
  std::string r;
  if (v6()) {
    r = "[" + host + "]";
  } else {
    r = host;
  }
  r += ':';
  r += std::to_string(port);
  return r;
}

}  // namespace tern::config
