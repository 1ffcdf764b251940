// Header block parsing (RFC 5322 2.2) and unfolding; tolerant of broken input.
#include <cstring>

#include "mime_internal.hpp"
#include "tern/mime/message.hpp"

namespace tern::mime {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string unfold(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\r' || c == '\n') continue;  // a line break inside a field is always folding
    out.push_back(c);
  }
  std::size_t b = 0, e = out.size();
  while (b < e && (out[b] == ' ' || out[b] == '\t')) ++b;
  while (e > b && (out[e - 1] == ' ' || out[e - 1] == '\t')) --e;
  return out.substr(b, e - b);
}

namespace detail {

std::size_t line_end(std::string_view msg, std::size_t pos, std::size_t stop) {
  const void* p = std::memchr(msg.data() + pos, '\n', stop - pos);
  return p ? static_cast<std::size_t>(static_cast<const char*>(p) - msg.data()) + 1 : stop;
}

std::size_t strip_eol(std::string_view msg, std::size_t line_begin, std::size_t next) {
  std::size_t e = next;
  if (e > line_begin && msg[e - 1] == '\n') {
    --e;
    if (e > line_begin && msg[e - 1] == '\r') --e;
  }
  return e;
}

std::vector<HeaderField> parse_header_until(std::string_view msg, std::size_t begin, std::size_t stop,
                                            const std::function<bool(std::size_t)>& is_boundary,
                                            std::size_t max_fields, std::size_t* header_end,
                                            std::size_t* body_begin) {
  std::vector<HeaderField> fields;
  bool have_open = false;  // the last line belonged to an indexed field (continuations extend it)
  std::size_t pos = begin;
  while (pos < stop) {
    if (is_boundary && is_boundary(pos)) {
      *header_end = *body_begin = pos;
      return fields;
    }
    std::size_t next = line_end(msg, pos, stop);
    std::size_t content_end = strip_eol(msg, pos, next);
    char c = msg[pos];
    if (content_end == pos && next > pos && msg[next - 1] == '\n') {  // the blank line
      *header_end = pos;
      *body_begin = next;
      return fields;
    }
    if (c == ' ' || c == '\t') {  // folded continuation
      if (have_open) {
        fields.back().value_end = content_end;
        fields.back().end = next;
      }
    } else {
      const char* colon = static_cast<const char*>(std::memchr(msg.data() + pos, ':', content_end - pos));
      if (colon && fields.size() < max_fields) {
        std::size_t cpos = static_cast<std::size_t>(colon - msg.data());
        std::size_t ne = cpos;
        while (ne > pos && (msg[ne - 1] == ' ' || msg[ne - 1] == '\t')) --ne;
        HeaderField f;
        f.begin = pos;
        f.name_len = ne - pos;
        f.value_begin = cpos + 1;
        f.value_end = content_end;
        f.end = next;
        fields.push_back(f);
        have_open = true;
      } else {
        have_open = false;  // Note: a line without ':' is skipped, as Dovecot does
      }
    }
    pos = next;
  }
  *header_end = *body_begin = stop;
  return fields;
}

}  // namespace detail

std::vector<HeaderField> parse_header(std::string_view msg, std::size_t begin, std::size_t stop,
                                      std::size_t* header_end, std::size_t* body_begin, std::size_t max_fields) {
  if (stop > msg.size()) stop = msg.size();
  return detail::parse_header_until(msg, begin, stop, {}, max_fields, header_end, body_begin);
}

std::optional<std::string_view> Part::header(std::string_view msg, std::string_view name) const {
  for (const auto& f : headers)
    if (iequals(f.name(msg), name)) return f.raw_value(msg);
  return std::nullopt;
}

const std::string* Part::param(std::string_view name) const {
  for (const auto& p : params)
    if (iequals(p.name, name)) return &p.value;
  return nullptr;
}

}  // namespace tern::mime
