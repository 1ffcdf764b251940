#include "tern/web/form.hpp"

namespace tern::web {
namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string Form::get(std::string_view name) const {
  for (const auto& [k, v] : fields_)
    if (k == name) return v;
  return {};
}

bool Form::has(std::string_view name) const {
  for (const auto& f : fields_)
    if (f.first == name) return true;
  return false;
}

std::vector<std::string> Form::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_)
    if (k == name) out.push_back(v);
  return out;
}

FormResult parse_form(std::string_view body, const FormLimits& limits) {
  FormResult r;
  std::vector<Form::Field> fields;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    if (fields.size() >= limits.max_fields) {
      r.error = FormError{FormError::too_many_fields, "too many form fields"};
      return r;
    }
    std::size_t eq = pair.find('=');
    std::string_view rawname = pair.substr(0, eq);
    std::string_view rawvalue = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    auto name = percent_decode(rawname, true);
    auto value = percent_decode(rawvalue, true);
    if (!name || !value) {
      r.error = FormError{FormError::bad_escape, "malformed %-escape in form data"};
      return r;
    }
    if (name->size() > limits.max_name) {
      r.error = FormError{FormError::name_too_long, "form field name too long"};
      return r;
    }
    if (value->size() > limits.max_value) {
      r.error = FormError{FormError::value_too_long, "form field value too long"};
      return r;
    }
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  r.form = Form(std::move(fields));
  return r;
}

bool is_clean_text(std::string_view s, bool single_line) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0x7f) return false;
      if (c < 0x20) {
        if (single_line) return false;
        if (c != '\t' && c != '\n' && c != '\r') return false;
      }
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // overlong forms, surrogates, beyond U+10FFFF, C1 controls
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    if (cp >= 0x80 && cp <= 0x9f) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace tern::web
