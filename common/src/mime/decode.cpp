// Charset conversion (iconv), RFC 2047 encoded words, RFC 2231 parameters.
#include "tern/mime/decode.hpp"

#include <iconv.h>
#include <locale.h>
#include <wctype.h>

#include <cerrno>
#include <map>

#include "mime_internal.hpp"
#include "tern/mime/section.hpp"

namespace tern::mime {

namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
std::size_t utf8_seq(std::string_view s, std::size_t i, char32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  std::size_t len;
  char32_t v, min;
  if ((c & 0xe0) == 0xc0) len = 2, v = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) len = 3, v = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) len = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp;
    std::size_t n = utf8_seq(s, i, &cp);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (unsigned char c : s) append_utf8(out, c);
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp;
    std::size_t n = utf8_seq(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::optional<std::string> to_utf8(std::string_view bytes, std::string_view charset_in) {
  std::string cs = detail::lower(charset_in);
  // RFC 2231 language suffix "utf-8*en" is not part of the name.
  if (auto star = cs.find('*'); star != std::string::npos) cs.resize(star);
  if (cs.empty() || cs == "us-ascii" || cs == "ascii" || cs == "utf-8" || cs == "utf8") {
    if (valid_utf8(bytes)) return std::string(bytes);
    return sanitize_utf8(bytes);
  }
  iconv_t cd = iconv_open("UTF-8", cs.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  if (is_ascii(bytes) && cs.rfind("utf-16", 0) != 0 && cs.rfind("utf-32", 0) != 0 && cs != "utf-7" &&
      cs.rfind("iso-2022", 0) != 0 && cs != "hz-gb-2312") {
    iconv_close(cd);
    return std::string(bytes);  // ASCII-compatible charsets: nothing to convert
  }
  std::string out;
  out.resize(bytes.size() * 4 + 16);
  char* in = const_cast<char*>(bytes.data());
  std::size_t inleft = bytes.size();
  char* o = out.data();
  std::size_t oleft = out.size();
  while (inleft > 0) {
    std::size_t r = iconv(cd, &in, &inleft, &o, &oleft);
    if (r != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) {
      std::size_t used = static_cast<std::size_t>(o - out.data());
      out.resize(out.size() * 2);
      o = out.data() + used;
      oleft = out.size() - used;
      continue;
    }
    // EILSEQ / EINVAL: replace one input byte with U+FFFD and go on.
    if (oleft < 3) {
      std::size_t used = static_cast<std::size_t>(o - out.data());
      out.resize(out.size() + 64);
      o = out.data() + used;
      oleft = out.size() - used;
    }
    *o++ = '\xef';
    *o++ = '\xbf';
    *o++ = '\xbd';
    oleft -= 3;
    ++in;
    --inleft;
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  iconv_close(cd);
  return out;
}

std::string to_utf8_lenient(std::string_view bytes, std::string_view charset) {
  if (auto r = to_utf8(bytes, charset)) {
    std::string cs = detail::lower(charset);
    bool utf8ish = cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii";
    if (!utf8ish || valid_utf8(bytes)) return *r;
  }
  if (valid_utf8(bytes)) return std::string(bytes);
  return latin1_to_utf8(bytes);
}

namespace {

// Tries an encoded word at s[i] ("=?charset?E?text?="). On success returns its length
// and appends the decoded UTF-8.
std::size_t encoded_word(std::string_view s, std::size_t i, std::string& out) {
  if (i + 8 > s.size() || s[i] != '=' || s[i + 1] != '?') return 0;
  std::size_t q1 = s.find('?', i + 2);
  if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return 0;
  char enc = s[q1 + 1];
  std::size_t end = s.find("?=", q1 + 3);
  if (end == std::string_view::npos) return 0;
  std::string_view charset = s.substr(i + 2, q1 - i - 2);
  std::string_view text = s.substr(q1 + 3, end - q1 - 3);
  if (charset.empty() || text.find(' ') != std::string_view::npos) return 0;
  std::string bytes;
  if (enc == 'B' || enc == 'b')
    bytes = decode_base64_lenient(text);
  else if (enc == 'Q' || enc == 'q')
    bytes = decode_quoted_printable(text, true);
  else
    return 0;
  out += to_utf8_lenient(bytes, charset);
  return end + 2 - i;
}

}  // namespace

std::string decode_header_value(std::string_view raw) {
  std::string v = unfold(raw);
  std::string out;
  out.reserve(v.size());
  std::string_view s(v);
  std::size_t i = 0;
  bool last_was_word = false;
  std::string pending_ws;  // whitespace after an encoded word (dropped if another follows)
  std::string plain;       // raw text run, converted as a whole
  auto flush_plain = [&] {
    if (!plain.empty()) {
      out += to_utf8_lenient(plain, "utf-8");
      plain.clear();
    }
  };
  while (i < s.size()) {
    if (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '?') {
      std::string dec;
      std::size_t n = encoded_word(s, i, dec);
      if (n) {
        if (!last_was_word) plain += pending_ws;
        pending_ws.clear();
        flush_plain();
        out += dec;
        i += n;
        last_was_word = true;
        continue;
      }
    }
    if (s[i] == ' ' || s[i] == '\t') {
      if (last_was_word) {
        pending_ws.push_back(s[i]);
      } else {
        plain.push_back(s[i]);
      }
      ++i;
      continue;
    }
    if (last_was_word) {
      plain += pending_ws;
      pending_ws.clear();
      last_was_word = false;
    }
    plain.push_back(s[i]);
    ++i;
  }
  plain += pending_ws;
  flush_plain();
  return out;
}

std::vector<Param> decode_params(const std::vector<Param>& params) {
  struct Acc {
    std::map<unsigned, std::pair<std::string, bool>> sections;  // n → (value, encoded)
    std::size_t order;
  };
  std::vector<Param> out;
  std::map<std::string, Acc> multi;
  std::vector<std::string> multi_order;
  for (const auto& p : params) {
    std::string name = detail::lower(p.name);
    auto star = name.find('*');
    if (star == std::string::npos) {
      out.push_back({name, decode_header_value(p.value)});
      continue;
    }
    std::string base = name.substr(0, star);
    std::string_view rest = std::string_view(name).substr(star + 1);
    unsigned n = 0;
    bool encoded = false;
    if (rest.empty()) {
      encoded = true;  // name*=charset'lang'value
    } else {
      std::size_t k = 0;
      while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9' && n < 100000) n = n * 10 + static_cast<unsigned>(rest[k++] - '0');
      if (k == 0) continue;
      encoded = k < rest.size() && rest[k] == '*';
    }
    auto [it, fresh] = multi.try_emplace(base);
    if (fresh) multi_order.push_back(base);
    if (it->second.sections.size() < 1000) it->second.sections.emplace(n, std::make_pair(p.value, encoded));
  }
  for (const auto& base : multi_order) {
    const Acc& a = multi[base];
    std::string charset;
    std::string bytes;
    bool first = true;
    for (const auto& [n, sec] : a.sections) {
      std::string_view v = sec.first;
      if (sec.second) {
        if (first) {  // charset'language'value in the first section only
          auto q1 = v.find('\'');
          auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
          if (q2 != std::string_view::npos) {
            charset = std::string(v.substr(0, q1));
            v = v.substr(q2 + 1);
          }
        }
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i] == '%' && i + 2 < v.size()) {
            auto hx = [](char c) -> int {
              if (c >= '0' && c <= '9') return c - '0';
              if (c >= 'a' && c <= 'f') return c - 'a' + 10;
              if (c >= 'A' && c <= 'F') return c - 'A' + 10;
              return -1;
            };
            int h = hx(v[i + 1]), l = hx(v[i + 2]);
            if (h >= 0 && l >= 0) {
              bytes.push_back(static_cast<char>(h * 16 + l));
              i += 2;
              continue;
            }
          }
          bytes.push_back(v[i]);
        }
      } else {
        bytes.append(v);
      }
      first = false;
    }
    out.push_back({base, charset.empty() ? decode_header_value(bytes) : to_utf8_lenient(bytes, charset)});
  }
  return out;
}

std::optional<std::string> part_filename(const Part& p) {
  for (const auto& prm : decode_params(p.disposition_params))
    if (prm.name == "filename") return prm.value;
  for (const auto& prm : decode_params(p.params))
    if (prm.name == "name") return prm.value;
  return std::nullopt;
}

namespace {

// Simple per-code-point case mapping (towlower/towupper in C.UTF-8); invalid UTF-8
// becomes U+FFFD.
std::string map_case(std::string_view s, bool upper) {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (upper) c = static_cast<unsigned char>(c >= 'a' && c <= 'z' ? c - 32 : c);
      else c = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    char32_t cp;
    std::size_t n = utf8_seq(s, i, &cp);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    if (loc)
      cp = static_cast<char32_t>(upper ? towupper_l(static_cast<wint_t>(cp), loc)
                                       : towlower_l(static_cast<wint_t>(cp), loc));
    append_utf8(out, cp);
    i += n;
  }
  return out;
}

}  // namespace

std::string fold_case(std::string_view s) { return map_case(s, false); }

std::string casemap_key(std::string_view s) { return map_case(s, true); }

}  // namespace tern::mime
