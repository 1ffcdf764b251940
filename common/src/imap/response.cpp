#include "tern/imap/response.hpp"

#include <ctime>
#include <cstdio>

namespace tern::imap {

namespace {

constexpr std::size_t kMaxQuoted = 1024;

bool astring_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' &&
         c != '"' && c != '\\';
}

}  // namespace

void append_literal_header(std::string& out, std::uint64_t n, bool literal8) {
  if (literal8) out.push_back('~');
  out.push_back('{');
  out.append(std::to_string(n));
  out.append("}\r\n");
}

void append_literal(std::string& out, std::string_view s, bool literal8) {
  append_literal_header(out, s.size(), literal8);
  out.append(s);
}

void append_string(std::string& out, std::string_view s, bool utf8) {
  bool quotable = s.size() <= kMaxQuoted;
  for (std::size_t i = 0; quotable && i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0 || c == '\r' || c == '\n') quotable = false;
    else if (c >= 0x80 && !utf8) quotable = false;
  }
  if (!quotable) {
    append_literal(out, s);
    return;
  }
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
  bool atom = !s.empty() && s.size() <= kMaxQuoted;
  for (std::size_t i = 0; atom && i < s.size(); ++i)
    if (!astring_char(static_cast<unsigned char>(s[i]))) atom = false;
  if (atom && s.size() == 3 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'I' || s[1] == 'i') &&
      (s[2] == 'L' || s[2] == 'l'))
    atom = false;
  if (atom) out.append(s);
  else append_string(out, s, utf8);
}

void append_nstring(std::string& out, const std::optional<std::string_view>& s, bool utf8) {
  if (!s) out.append("NIL");
  else append_string(out, *s, utf8);
}

std::string safe_text(std::string_view s, std::size_t max) {
  std::string r;
  for (char c : s) {
    if (r.size() >= max) break;
    unsigned char u = static_cast<unsigned char>(c);
    r.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return r;
}

std::string format_date_time(long long unix_time) {
  static const char* const kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
                kMon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace tern::imap
