#pragma once
// application/x-www-form-urlencoded bodies and URL query strings (WHATWG URL
// "application/x-www-form-urlencoded parsing"; RFC 3986 percent-encoding).
// Pure and bounded: malformed or oversized input is an error, never a crash.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::web {

struct FormLimits {
  std::size_t max_fields = 256;        // name=value pairs
  std::size_t max_name = 256;          // octets of a decoded name
  std::size_t max_value = 256 * 1024;  // octets of a decoded value
};

// Decodes %XX escapes (and '+' as space when plus_is_space). nullopt for a '%' not
// followed by two hex digits. The result may contain any octet, NUL included;
// callers that need text check it (see is_clean_text).
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Encodes everything but unreserved characters (RFC 3986 2.3) as %XX.
std::string percent_encode(std::string_view s);

class Form {
 public:
  using Field = std::pair<std::string, std::string>;
  Form() = default;
  explicit Form(std::vector<Field> f) : fields_(std::move(f)) {}

  // The first value of `name`, or "" when absent.
  std::string get(std::string_view name) const;
  bool has(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

struct FormError {
  enum Code { bad_escape, too_many_fields, name_too_long, value_too_long } code;
  std::string message;
};

struct FormResult {
  std::optional<Form> form;
  std::optional<FormError> error;
  explicit operator bool() const { return form.has_value(); }
};

// "a=1&b=x+y&c" → {a:"1", b:"x y", c:""}. Empty pairs ("&&") are skipped.
FormResult parse_form(std::string_view body, const FormLimits& limits = {});

// True when s is valid UTF-8 with no control characters other than TAB, CR, LF
// (multi-line fields) — or, when single_line, with no CR/LF/TAB at all.
bool is_clean_text(std::string_view s, bool single_line);

}  // namespace tern::web
