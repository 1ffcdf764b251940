#include "tern/dkim/message.hpp"

namespace tern::dkim {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

std::optional<SplitMessage> split_message(std::string_view s, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<SplitMessage> {
    if (error) *error = why;
    return std::nullopt;
  };
  SplitMessage m;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t eol = s.find("\r\n", i);
    std::size_t line_end = eol == std::string_view::npos ? s.size() : eol;
    if (line_end == i) {  // the empty line: the body follows
      m.body = s.substr(std::min(s.size(), i + 2));
      return m;
    }
    if (s[i] == ' ' || s[i] == '\t') {  // continuation of the previous field
      if (m.headers.empty()) return fail("continuation line before the first header field");
      HeaderField& f = m.headers.back();
      f.raw = std::string_view(f.raw.data(), s.data() + line_end - f.raw.data());
    } else {
      std::string_view line = s.substr(i, line_end - i);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return fail("header line without a field name");
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return fail("bad character in a header field name");
      }
      if (m.headers.size() == kMaxHeaderFields) return fail("too many header fields");
      m.headers.push_back(HeaderField{name, line});
    }
    if (eol == std::string_view::npos) break;
    i = eol + 2;
  }
  return m;  // no empty line: all header, empty body
}

}  // namespace tern::dkim
