#pragma once
// Cookie request header parsing and Set-Cookie building (RFC 6265 4.1, 5.4).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::web {

inline constexpr std::size_t kMaxCookies = 64;

// "a=1; b=2" → {{"a","1"},{"b","2"}}. Pairs without '=' and names that are not RFC 6265
// tokens are skipped; a quoted value loses its quotes. At most kMaxCookies pairs.
std::vector<std::pair<std::string, std::string>> parse_cookies(std::string_view header);

// The value of cookie `name` in a Cookie header (first occurrence), or nullopt.
std::optional<std::string> find_cookie(std::string_view header, std::string_view name);

struct CookieOptions {
  bool http_only = true;
  bool secure = true;
  std::string same_site = "Strict";
  std::string path = "/";
  std::optional<std::chrono::seconds> max_age;  // nullopt: a session cookie
};

// "name=value; Path=/; Max-Age=N; HttpOnly; Secure; SameSite=Strict".
// name must be a token and value cookie-octets (throws std::invalid_argument otherwise:
// the panel only sets cookies it made).
std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& o);

}  // namespace tern::web
