#include "tern/web/cookie.hpp"

#include <stdexcept>

namespace tern::web {
namespace {

// RFC 6265 4.1.1 / RFC 2616 token characters.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) != std::string_view::npos) return false;
  }
  return true;
}

// cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
bool is_cookie_value(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_cookies(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < header.size() && out.size() < kMaxCookies) {
    std::size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view pair = trim(header.substr(pos, semi - pos));
    pos = semi + 1;
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = trim(pair.substr(0, eq));
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (!is_token(name) || !is_cookie_value(value)) continue;
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

std::optional<std::string> find_cookie(std::string_view header, std::string_view name) {
  for (auto& [k, v] : parse_cookies(header))
    if (k == name) return v;
  return std::nullopt;
}

std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& o) {
  if (!is_token(name) || !is_cookie_value(value)) throw std::invalid_argument("set_cookie: bad name or value");
  std::string s(name);
  s += '=';
  s += value;
  s += "; Path=";
  s += o.path;
  if (o.max_age) s += "; Max-Age=" + std::to_string(o.max_age->count());
  if (o.http_only) s += "; HttpOnly";
  if (o.secure) s += "; Secure";
  if (!o.same_site.empty()) s += "; SameSite=" + o.same_site;
  return s;
}

}  // namespace tern::web
