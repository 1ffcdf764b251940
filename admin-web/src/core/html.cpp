#include "tern/web/html.hpp"

#include <stdexcept>

#include "tern/web/form.hpp"

namespace tern::web {

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
          if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            out += "\xEF\xBF\xBD";
          else
            out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // Copy one valid UTF-8 sequence, or replace the lead byte.
    std::size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n != 0 && i + n <= s.size() && is_clean_text(s.substr(i, n), true)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Html render_impl(std::string_view tpl, std::initializer_list<Arg> args) {
  std::string out;
  out.reserve(tpl.size() * 2);
  std::size_t pos = 0;
  while (pos < tpl.size()) {
    std::size_t open = tpl.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(tpl.substr(pos));
      break;
    }
    out.append(tpl.substr(pos, open - pos));
    std::size_t close = tpl.find("}}", open + 2);
    if (close == std::string_view::npos) throw std::logic_error("template: unclosed {{");
    std::string_view name = tpl.substr(open + 2, close - open - 2);
    const Arg* found = nullptr;
    for (const auto& a : args)
      if (a.name == name) found = &a;
    if (!found) throw std::logic_error("template: no value for {{" + std::string(name) + "}}");
    if (auto* t = std::get_if<std::string>(&found->value))
      out += escape(*t);
    else
      out += std::get<Html>(found->value).str();
    pos = close + 2;
  }
  return Html::from_generated(std::move(out));
}

Html join(const std::vector<Html>& parts) {
  std::string out;
  for (const auto& p : parts) out += p.str();
  return Html::from_generated(std::move(out));
}

}  // namespace tern::web
