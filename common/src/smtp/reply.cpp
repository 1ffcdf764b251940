// SMTP reply formatting. RFC 5321 §4.2.1: multi-line replies use "code-" on every line
// but the last, which uses "code SP". RFC 2034 §4: the enhanced code follows the
// reply code on every line of the reply.
#include "tern/smtp/reply.hpp"

namespace tern::smtp {

std::string Reply::format() const {
  std::string out;
  if (code == 0) return out;
  const std::string c = std::to_string(code);
  const std::size_t n = lines.empty() ? 1 : lines.size();
  for (std::size_t i = 0; i < n; ++i) {
    out += c;
    out += (i + 1 == n) ? ' ' : '-';
    if (!esc.empty()) {
      out += esc;
      out += ' ';
    }
    if (!lines.empty()) out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::summary() const {
  std::string s = std::to_string(code);
  if (!esc.empty()) s += " " + esc;
  if (!lines.empty()) s += " " + lines.front();
  return s;
}

}  // namespace tern::smtp
