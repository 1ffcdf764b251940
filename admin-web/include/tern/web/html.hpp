#pragma once
// The template layer: every value rendered into a page is escaped here, so a page
// cannot forget to. Markup exists only as Html, and Html is made only from
//   - string literals (the templates themselves: code, never input),
//   - render() of a literal template whose {{name}} slots take text (escaped) or Html,
//   - text(s), which escapes s.
// There is no way to turn a runtime std::string into Html unescaped, except
// Html::from_generated() for markup this code builds itself (SVG charts from numbers):
// grep for it to review every use.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tern::web {

class Html {
 public:
  Html() = default;
  template <std::size_t N>
  Html(const char (&literal)[N]) : s_(literal, N - 1) {}  // NOLINT: literals are markup
  static Html from_generated(std::string s) {
    Html h;
    h.s_ = std::move(s);
    return h;
  }
  const std::string& str() const { return s_; }
  Html& operator+=(const Html& o) {
    s_ += o.s_;
    return *this;
  }
  friend Html operator+(Html a, const Html& b) { return a += b; }
  bool empty() const { return s_.empty(); }

 private:
  std::string s_;
};

// & < > " ' → entities. Safe in element content and in quoted attribute values.
// Invalid UTF-8 and control characters (other than TAB/LF/CR) become U+FFFD.
std::string escape(std::string_view s);
inline Html text(std::string_view s) { return Html::from_generated(escape(s)); }

struct Arg {
  std::string_view name;
  std::variant<std::string, Html> value;
  Arg(std::string_view n, std::string_view v) : name(n), value(std::string(v)) {}
  Arg(std::string_view n, const std::string& v) : name(n), value(v) {}
  Arg(std::string_view n, const char* v) : name(n), value(std::string(v)) {}
  Arg(std::string_view n, Html v) : name(n), value(std::move(v)) {}
  Arg(std::string_view n, std::int64_t v) : name(n), value(std::to_string(v)) {}
  Arg(std::string_view n, std::uint64_t v) : name(n), value(std::to_string(v)) {}
  Arg(std::string_view n, int v) : name(n), value(std::to_string(v)) {}
  Arg(std::string_view n, unsigned v) : name(n), value(std::to_string(v)) {}
};

// Fills the {{name}} slots of `tpl` (a literal): text values are escaped, Html values
// inserted as they are. A slot without an argument throws std::logic_error (a bug in
// a page; the unit tests render every page).
template <std::size_t N>
Html render(const char (&tpl)[N], std::initializer_list<Arg> args);
Html render_impl(std::string_view tpl, std::initializer_list<Arg> args);
template <std::size_t N>
Html render(const char (&tpl)[N], std::initializer_list<Arg> args) {
  return render_impl(std::string_view(tpl, N - 1), args);
}

// Concatenation of a list.
Html join(const std::vector<Html>& parts);

}  // namespace tern::web
