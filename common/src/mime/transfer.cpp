// Content-transfer decoding: base64 (RFC 2045 6.8) and quoted-printable (6.7), lenient
// as readers must be with real mail.
#include "mime_internal.hpp"
#include "tern/mime/section.hpp"

namespace tern::mime {

namespace {
int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

std::string decode_base64_lenient(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (c == '=') break;  // padding: the end of the data (RFC 2045 6.8)
    int v = b64_value(c);
    if (v < 0) continue;  // line breaks and junk are ignored (RFC 2045 6.8)
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string decode_quoted_printable(std::string_view in, bool header_q) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0, n = in.size();
  while (i < n) {
    char c = in[i];
    if (c == '=') {
      // Soft line break: '=' then optional trailing whitespace then (CR)LF.
      std::size_t j = i + 1;
      while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j < n && (in[j] == '\r' || in[j] == '\n')) {
        if (in[j] == '\r') ++j;
        if (j < n && in[j] == '\n') ++j;
        i = j;
        continue;
      }
      if (j >= n && !header_q) {  // "=" at the very end: a soft break without the EOL
        i = j;
        continue;
      }
      if (i + 2 < n) {
        int h = hex_value(static_cast<unsigned char>(in[i + 1]));
        int l = hex_value(static_cast<unsigned char>(in[i + 2]));
        if (h >= 0 && l >= 0) {
          out.push_back(static_cast<char>(h * 16 + l));
          i += 3;
          continue;
        }
      }
      out.push_back('=');  // malformed: kept as is
      ++i;
    } else if (c == '_' && header_q) {
      out.push_back(' ');
      ++i;
    } else if ((c == ' ' || c == '\t') && !header_q) {
      // Trailing whitespace before a line break is padding added in transport (6.7 (3)).
      std::size_t j = i;
      while (j < n && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j < n && (in[j] == '\r' || in[j] == '\n')) {
        i = j;
      } else {
        out.append(in.substr(i, j - i));
        i = j;
      }
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::optional<std::string> decode_transfer(std::string_view body, std::string_view encoding) {
  std::string e = detail::lower(encoding);
  if (e.empty() || e == "7bit" || e == "8bit" || e == "binary") return std::string(body);
  if (e == "base64") return decode_base64_lenient(body);
  if (e == "quoted-printable") return decode_quoted_printable(body);
  return std::nullopt;
}

}  // namespace tern::mime
