#include "tern/imap/list_match.hpp"

#include <cctype>
#include <string>
#include <vector>

namespace tern::imap {

namespace {

std::string canon_inbox(std::string_view s, char delim) {
  if (s.size() >= 5) {
    bool inbox = true;
    for (std::size_t i = 0; i < 5; ++i)
      if (std::toupper(static_cast<unsigned char>(s[i])) != "INBOX"[i]) inbox = false;
    if (inbox && (s.size() == 5 || s[5] == delim)) return "INBOX" + std::string(s.substr(5));
  }
  return std::string(s);
}

}  // namespace

bool list_match(std::string_view pattern_in, std::string_view name_in, char delim) {
  std::string name = canon_inbox(name_in, delim);
  std::string raw = canon_inbox(pattern_in, delim);
  // Collapse wildcard runs: a run with any '*' is '*', else '%'.
  std::string p;
  std::size_t literal = 0;
  for (std::size_t i = 0; i < raw.size();) {
    if (raw[i] == '*' || raw[i] == '%') {
      bool star = false;
      while (i < raw.size() && (raw[i] == '*' || raw[i] == '%')) star |= raw[i++] == '*';
      p.push_back(star ? '*' : '%');
    } else {
      p.push_back(raw[i++]);
      ++literal;
    }
  }
  if (literal > name.size()) return false;  // cannot match: keeps the scan small
  // cur[j]: pattern prefix of length j matches the name prefix read so far.
  const std::size_t m = p.size();
  std::vector<char> cur(m + 1, 0), nxt(m + 1, 0);
  cur[0] = 1;
  auto close = [&](std::vector<char>& v) {
    // A wildcard may match the empty string.
    for (std::size_t j = 0; j < m; ++j)
      if (v[j] && (p[j] == '*' || p[j] == '%')) v[j + 1] = 1;
  };
  close(cur);
  for (char c : name) {
    std::fill(nxt.begin(), nxt.end(), 0);
    bool any = false;
    for (std::size_t j = 0; j < m; ++j) {
      if (!cur[j]) continue;
      char pc = p[j];
      if (pc == '*' || (pc == '%' && c != delim)) {
        nxt[j] = 1;  // the wildcard eats c and may go on
        any = true;
      } else if (pc == c) {
        nxt[j + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(nxt);
    cur.swap(nxt);
  }
  return cur[m] != 0;
}

}  // namespace tern::imap
