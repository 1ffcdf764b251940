#include "tern/dkim/tag_list.hpp"

namespace tern::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_valchar(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 0x21 && u <= 0x3a) || (u >= 0x3c && u <= 0x7e);
}

// Skip FWS (RFC 5322 §3.2.2 as DKIM uses it): WSP, and CRLF only when followed by WSP.
std::size_t skip_fws(std::string_view s, std::size_t i) {
  for (;;) {
    if (i < s.size() && is_wsp(s[i])) {
      ++i;
    } else if (i + 2 < s.size() && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2])) {
      i += 3;
    } else {
      return i;
    }
  }
}

}  // namespace

std::optional<std::vector<Tag>> parse_tag_list(std::string_view s, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::vector<Tag>> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  std::vector<Tag> tags;
  std::size_t i = 0;
  for (;;) {
    i = skip_fws(s, i);
    if (i == s.size()) break;  // empty list, or a trailing ';'
    std::size_t name_begin = i;
    if (!is_alpha(s[i])) return fail("tag name must start with a letter");
    while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_')) ++i;
    std::string_view name = s.substr(name_begin, i - name_begin);
    i = skip_fws(s, i);
    if (i == s.size() || s[i] != '=') return fail("tag " + std::string(name) + " has no '='");
    ++i;
    std::size_t value_begin = i;
    // tag-value: tval *( 1*(WSP/FWS) tval ); then [FWS]. Scan to ';' or the end and check.
    std::size_t j = skip_fws(s, i);
    std::size_t vstart = j, vend = j;
    while (j < s.size() && s[j] != ';') {
      if (is_valchar(s[j])) {
        ++j;
        vend = j;
      } else {
        std::size_t k = skip_fws(s, j);
        if (k == j) return fail("bad character in the value of tag " + std::string(name));
        j = k;
      }
    }
    for (const Tag& t : tags)
      if (t.name == name) return fail("duplicate tag " + std::string(name));
    if (tags.size() == kMaxTags) return fail("too many tags");
    tags.push_back(Tag{name, s.substr(vstart, vend - vstart), value_begin, j});
    i = j;
    if (i == s.size()) break;
    ++i;  // ';'
  }
  return tags;
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const Tag& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

std::string strip_fws(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(c);
  return out;
}

}  // namespace tern::dkim
