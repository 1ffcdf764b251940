// BODY[section] / BINARY[section] (RFC 9051 6.4.5, RFC 3516).
#include "tern/mime/section.hpp"

#include "mime_internal.hpp"

namespace tern::mime {

namespace {

bool starts_with_ci(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}

// header-list: "(" astring *(SP astring) ")" — atoms and quoted strings.
bool parse_field_list(std::string_view s, std::vector<std::string>& out, std::size_t max) {
  std::size_t i = 0;
  if (i >= s.size() || s[i] != '(') return false;
  ++i;
  while (i < s.size() && s[i] != ')') {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::string f;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        f.push_back(s[i++]);
      }
      if (i >= s.size()) return false;
      ++i;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != ')') {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c <= ' ' || c >= 0x7f || c == '(' || c == '{' || c == '%' || c == '*' || c == '"' || c == '\\')
          return false;
        f.push_back(s[i++]);
      }
    }
    if (f.empty() || out.size() >= max) return false;
    out.push_back(std::move(f));
  }
  if (i >= s.size() || out.empty()) return false;
  return i + 1 == s.size();
}

bool field_listed(std::string_view name, const std::vector<std::string>& fields) {
  for (const auto& f : fields)
    if (iequals(name, f)) return true;
  return false;
}

}  // namespace

std::optional<Section> parse_section(std::string_view spec, bool binary, std::size_t max_fields) {
  Section s;
  std::size_t i = 0;
  // Part numbers: nz-number *("." nz-number)
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
    if (spec[i] == '0') return std::nullopt;
    std::uint64_t v = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(spec[i] - '0');
      if (v > 0xffffffffu) return std::nullopt;
      ++i;
    }
    s.part.push_back(static_cast<std::uint32_t>(v));
    if (i < spec.size() && spec[i] == '.') {
      ++i;
      if (i >= spec.size()) return std::nullopt;
      if (spec[i] >= '0' && spec[i] <= '9') continue;
      break;  // the section-text follows
    }
    if (i < spec.size()) return std::nullopt;
  }
  std::string_view rest = spec.substr(i);
  if (rest.empty()) {
    if (i > 0 && spec.back() == '.') return std::nullopt;
    return s;
  }
  if (binary) return std::nullopt;
  if (iequals(rest, "HEADER")) {
    s.text = Section::Text::header;
  } else if (iequals(rest, "TEXT")) {
    s.text = Section::Text::text;
  } else if (iequals(rest, "MIME")) {
    if (s.part.empty()) return std::nullopt;
    s.text = Section::Text::mime;
  } else if (starts_with_ci(rest, "HEADER.FIELDS.NOT ")) {
    s.text = Section::Text::header_fields_not;
    if (!parse_field_list(rest.substr(18), s.fields, max_fields)) return std::nullopt;
  } else if (starts_with_ci(rest, "HEADER.FIELDS ")) {
    s.text = Section::Text::header_fields;
    if (!parse_field_list(rest.substr(14), s.fields, max_fields)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return s;
}

std::string section_name(const Section& s) {
  std::string out;
  for (std::size_t i = 0; i < s.part.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(s.part[i]);
  }
  const char* t = nullptr;
  switch (s.text) {
    case Section::Text::none: return out;
    case Section::Text::header: t = "HEADER"; break;
    case Section::Text::header_fields: t = "HEADER.FIELDS"; break;
    case Section::Text::header_fields_not: t = "HEADER.FIELDS.NOT"; break;
    case Section::Text::mime: t = "MIME"; break;
    case Section::Text::text: t = "TEXT"; break;
  }
  if (!out.empty()) out += '.';
  out += t;
  if (!s.fields.empty()) {
    out += " (";
    for (std::size_t i = 0; i < s.fields.size(); ++i) {
      if (i) out += ' ';
      out += s.fields[i];
    }
    out += ')';
  }
  return out;
}

const Part* find_part(const Message& m, const std::vector<std::uint32_t>& path) {
  const Part* cur = &m.root;
  bool first = true;
  for (std::uint32_t k : path) {
    const Part* container = cur;
    bool message_entity = first;
    if (!first) {
      if (cur->kind == PartKind::message && !cur->children.empty()) {
        container = &cur->children[0];
        message_entity = true;
      } else if (cur->kind != PartKind::multipart) {
        return nullptr;
      }
    }
    first = false;
    if (container->kind == PartKind::multipart) {
      if (k == 0 || k > container->children.size()) return nullptr;
      cur = &container->children[k - 1];
    } else if (message_entity && k == 1) {
      cur = container;  // a non-multipart message has one part: its body
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::optional<std::string> extract_section(std::string_view msg, const Message& m, const Section& s) {
  const Part* p = find_part(m, s.part);
  if (!p) return std::nullopt;
  auto range = [&](std::size_t b, std::size_t e) { return std::string(slice(msg, b, e - b)); };
  if (s.text == Section::Text::none) {
    if (s.part.empty()) return std::string(msg);  // BODY[]: the whole message
    return range(p->body_begin, p->body_end);
  }
  if (s.text == Section::Text::mime) return range(p->header_begin, p->body_begin);
  // HEADER*, TEXT: of the message itself (no part) or of a message/rfc822 part.
  const Part* e = p;
  if (!s.part.empty()) {
    if (p->kind != PartKind::message || p->children.empty()) return std::nullopt;
    e = &p->children[0];
  }
  switch (s.text) {
    case Section::Text::header:
      return range(e->header_begin, e->body_begin);
    case Section::Text::text:
      return range(e->body_begin, e->body_end);
    case Section::Text::header_fields:
    case Section::Text::header_fields_not: {
      bool want = s.text == Section::Text::header_fields;
      std::string out;
      for (const auto& f : e->headers)
        if (field_listed(f.name(msg), s.fields) == want) {
          out.append(f.whole(msg));
          if (f.end == f.value_end) out += "\r\n";  // last line of a message without EOL
        }
      out += "\r\n";
      return out;
    }
    default:
      return std::nullopt;
  }
}

std::string_view apply_partial(std::string_view bytes, std::uint64_t origin, std::optional<std::uint64_t> count) {
  if (origin >= bytes.size()) return {};
  std::string_view r = bytes.substr(static_cast<std::size_t>(origin));
  if (count && *count < r.size()) r = r.substr(0, static_cast<std::size_t>(*count));
  return r;
}

BinaryResult extract_binary(std::string_view msg, const Message& m, const std::vector<std::uint32_t>& path) {
  BinaryResult r;
  if (path.empty()) {
    r.data.assign(msg);
    return r;
  }
  const Part* p = find_part(m, path);
  if (!p) {
    r.error = BinaryError::no_such_part;
    return r;
  }
  std::string_view body = slice(msg, p->body_begin, p->body_end - p->body_begin);
  if (p->kind != PartKind::leaf) {
    r.data.assign(body);
    return r;
  }
  auto d = decode_transfer(body, p->encoding.value_or("7bit"));
  if (!d) {
    r.error = BinaryError::unknown_cte;
    return r;
  }
  r.data = std::move(*d);
  return r;
}

}  // namespace tern::mime
