// TERN_LISTEN_FDS parsing; see tern/net/listen_fds.hpp.
#include "tern/net/listen_fds.hpp"

#include <charconv>

namespace tern::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::map<std::string, int> parse_listen_fds(std::string_view text, std::string* bad) {
  std::map<std::string, int> out;
  auto complain = [&](std::string_view item) {
    if (!bad) return;
    if (!bad->empty()) bad->push_back(',');
    bad->append(item);
  };
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    // The endpoint itself contains ':' (and IPv6 brackets) but never '='.
    std::size_t eq = item.rfind('=');
    if (eq == std::string_view::npos || eq == 0) {
      complain(item);
      continue;
    }
    std::string_view ep = trim(item.substr(0, eq));
    std::string_view num = trim(item.substr(eq + 1));
    int fd = -1;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), fd);
    if (ec != std::errc{} || p != num.data() + num.size() || fd < 0 || ep.empty()) {
      complain(item);
      continue;
    }
    out[std::string(ep)] = fd;
  }
  return out;
}

}  // namespace tern::net
