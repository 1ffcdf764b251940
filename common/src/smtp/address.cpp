// RFC 5321 §4.1.2 path syntax, with the RFC 6531 §3.3 extension (UTF-8 in atext and
// sub-domains) and the length limits of §4.5.3.1.
#include "tern/smtp/address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace tern::smtp {
namespace {

bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// atext of RFC 5322 §3.2.3.
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlongs, surrogates and > U+10FFFF are not UTF-8 (RFC 3629 §3).
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

bool is_dot_string(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  bool prev_dot = false;
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
      continue;
    }
    prev_dot = false;
    if (c >= 0x80) {
      if (!allow_utf8) return false;
      continue;
    }
    if (!is_atext(c)) return false;
  }
  return !allow_utf8 || is_valid_utf8(s);
}

bool is_quoted_string(std::string_view s) {
  // Quoted-string = DQUOTE *QcontentSMTP DQUOTE (RFC 5321 §4.1.2)
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the escape would eat the closing quote
      auto d = static_cast<unsigned char>(s[++i]);
      if (d < 32 || d > 126) return false;
      continue;
    }
    if (c == '"') return false;
    if (c < 32 || c == 127) return false;
    if (c >= 0x80) continue;  // UTF-8 checked by the caller (RFC 6531 qtextSMTP)
  }
  return true;
}

bool is_domain(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.size() > max_domain) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // sub-domain = Let-dig [Ldh-str]; Ldh-str ends with Let-dig. U-labels (RFC 6531) may
    // hold any UTF-8 octets.
    if (label.empty() || label.size() > 63) return false;
    for (std::size_t i = 0; i < label.size(); ++i) {
      auto c = static_cast<unsigned char>(label[i]);
      if (c >= 0x80) {
        if (!allow_utf8) return false;
        continue;
      }
      if (is_alpha(c) || is_digit(c)) continue;
      if (c == '-' && i != 0 && i + 1 != label.size()) continue;
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !allow_utf8 || is_valid_utf8(s);
}

bool is_address_literal(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string inner(s.substr(1, s.size() - 2));
  unsigned char buf[16];
  if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0)
    return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
  if (inet_pton(AF_INET, inner.c_str(), buf) == 1) return true;
  // General-address-literal = Standardized-tag ":" 1*dcontent (§4.1.3)
  auto colon = inner.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == inner.size()) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    auto c = static_cast<unsigned char>(inner[i]);
    if (!(is_alpha(c) || is_digit(c) || c == '-')) return false;
  }
  for (std::size_t i = colon + 1; i < inner.size(); ++i) {
    auto c = static_cast<unsigned char>(inner[i]);
    if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\') return false;
  }
  return true;
}

std::string Path::address() const {
  if (null) return {};
  if (postmaster) return "Postmaster";
  return local + "@" + domain;
}

PathError parse_path(std::string_view in, bool allow_null, bool allow_postmaster, Path& out,
                     std::size_t& consumed) {
  out = Path{};
  if (in.empty() || in.front() != '<') return PathError::Syntax;
  // Find the closing '>' outside a quoted string.
  std::size_t i = 1;
  bool quoted = false;
  std::size_t close = std::string_view::npos;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (quoted) {
      if (c == '\\') { ++i; continue; }
      if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') { quoted = true; continue; }
    if (c == '>') { close = i; break; }
  }
  if (close == std::string_view::npos) return PathError::Syntax;
  consumed = close + 1;
  if (consumed > max_path) return PathError::TooLong;
  std::string_view body = in.substr(1, close - 1);
  if (body.empty()) {
    if (!allow_null) return PathError::Syntax;
    out.null = true;
    return PathError::None;
  }
  if (allow_postmaster && iequals(body, "postmaster")) {
    out.postmaster = true;
    out.local = "Postmaster";
    return PathError::None;
  }
  // A-d-l = At-domain *( "," At-domain ) ":"   (source route, dropped)
  if (body.front() == '@') {
    auto colon = body.find(':');
    if (colon == std::string_view::npos) return PathError::Syntax;
    std::string_view adl = body.substr(0, colon);
    std::size_t p = 0;
    while (p < adl.size()) {
      if (adl[p] != '@') return PathError::Syntax;
      auto comma = adl.find(',', p);
      std::string_view d = adl.substr(p + 1, comma == std::string_view::npos ? std::string_view::npos : comma - p - 1);
      if (!is_domain(d, false) && !is_address_literal(d)) return PathError::Syntax;
      if (comma == std::string_view::npos) break;
      p = comma + 1;
    }
    body = body.substr(colon + 1);
  }
  // Mailbox = Local-part "@" ( Domain / address-literal ); the local part may contain
  // '@' only inside a quoted string, so split at the last '@'.
  auto at = body.rfind('@');
  if (at == std::string_view::npos || at == 0) return PathError::Syntax;
  std::string_view local = body.substr(0, at), domain = body.substr(at + 1);
  bool non_ascii = false;
  for (unsigned char c : body)
    if (c >= 0x80) non_ascii = true;
  if (non_ascii && !is_valid_utf8(body)) return PathError::BadUtf8;
  if (local.front() == '"') {
    if (!is_quoted_string(local)) return PathError::Syntax;
  } else if (!is_dot_string(local, true)) {
    return PathError::Syntax;
  }
  if (domain.empty()) return PathError::Syntax;
  if (domain.front() == '[') {
    if (!is_address_literal(domain)) return PathError::Syntax;
  } else if (domain.size() > max_domain) {
    return PathError::TooLong;
  } else if (!is_domain(domain, true)) {
    return PathError::Syntax;
  }
  if (local.size() > max_local_part) return PathError::TooLong;
  out.local = std::string(local);
  out.domain = std::string(domain);
  out.utf8 = non_ascii;
  return PathError::None;
}

}  // namespace tern::smtp
