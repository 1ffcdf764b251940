// Content-* field values (RFC 2045 5.1, 6.1; RFC 2183; RFC 3282), lenient lexer.
#include <algorithm>

#include "mime_internal.hpp"

namespace tern::mime::detail {

namespace {
bool is_tspecial(char c) {
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
      return true;
    default:
      return false;
  }
}
}  // namespace

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return o;
}

void Lexer::skip_cfws() {
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i_;
    } else if (c == '(') {
      int depth = 0;
      while (i_ < s_.size()) {
        char d = s_[i_++];
        if (d == '\\' && i_ < s_.size()) {
          ++i_;
        } else if (d == '(') {
          ++depth;
        } else if (d == ')') {
          if (--depth == 0) break;
        }
      }
    } else {
      break;
    }
  }
}

std::optional<std::string> Lexer::token() {
  skip_cfws();
  std::size_t b = i_;
  while (i_ < s_.size()) {
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (c <= ' ' || c == 0x7f || is_tspecial(static_cast<char>(c))) break;
    ++i_;
  }
  if (i_ == b) return std::nullopt;
  return std::string(s_.substr(b, i_ - b));
}

std::optional<std::string> Lexer::quoted() {
  skip_cfws();
  if (i_ >= s_.size() || s_[i_] != '"') return std::nullopt;
  ++i_;
  std::string out;
  while (i_ < s_.size()) {
    char c = s_[i_++];
    if (c == '"') return out;
    if (c == '\\' && i_ < s_.size()) {
      out.push_back(s_[i_++]);
    } else if (c == '\r' || c == '\n') {
      continue;  // folding inside a quoted string
    } else {
      out.push_back(c);
    }
  }
  return out;  // unterminated: what was there
}

std::optional<std::string> Lexer::value() {
  if (peek() == '"') return quoted();
  return token();
}

std::string Lexer::raw_until(char c) {
  skip_cfws();
  std::size_t b = i_;
  while (i_ < s_.size() && s_[i_] != c) ++i_;
  std::size_t e = i_;
  while (e > b && (s_[e - 1] == ' ' || s_[e - 1] == '\t' || s_[e - 1] == '\r' || s_[e - 1] == '\n')) --e;
  std::string out;
  for (std::size_t k = b; k < e; ++k)
    if (s_[k] != '\r' && s_[k] != '\n') out.push_back(s_[k]);
  return out;
}

void Lexer::unget_semicolon() {
  if (i_ > 0 && s_[i_ - 1] == ';') --i_;
}

void Lexer::skip_past(char c) {
  while (i_ < s_.size()) {
    char d = s_[i_];
    if (d == '"') {
      quoted();
      continue;
    }
    if (d == '(') {
      skip_cfws();
      continue;
    }
    ++i_;
    if (d == c) return;
  }
}

namespace {
void parse_params(Lexer& lx, std::vector<Param>& params) {
  while (!lx.eof()) {
    if (!lx.accept(';')) {
      lx.skip_past(';');
      continue;
    }
    if (lx.eof()) break;
    auto name = lx.token();
    if (!name) {
      lx.skip_past(';');
      continue;
    }
    if (!lx.accept('=')) {
      continue;  // "; foo" without a value: dropped (RFC 2045 requires one)
    }
    // Note: RFC 2045 forbids tspecials and spaces in an unquoted value; broken mailers
    // send "name=a b.pdf" or "boundary=a=b": an unquoted value runs to the next ';'.
    std::string val;
    if (lx.peek() == '"') {
      val = lx.quoted().value_or("");
    } else {
      std::size_t at = lx.pos();
      auto t = lx.token();
      char n = lx.peek();
      if (t && (n == ';' || n == '\0')) {
        val = *t;  // the normal case (comments after it skipped)
      } else {
        lx.seek(at);
        val = lx.raw_until(';');
      }
    }
    params.push_back({*name, val});
  }
}
}  // namespace

bool parse_content_type(std::string_view value, std::string& type, std::string& subtype,
                        std::vector<Param>& params, std::string* type_as_sent, std::string* subtype_as_sent) {
  Lexer lx(value);
  auto t = lx.token();
  bool ok = false;
  if (t && lx.accept('/')) {
    auto s = lx.token();
    if (s) {
      type = lower(*t);
      subtype = lower(*s);
      if (type_as_sent) *type_as_sent = *t;
      if (subtype_as_sent) *subtype_as_sent = *s;
      ok = true;
    }
  }
  if (!ok) lx = Lexer(value.substr(std::min(value.size(), value.find(';'))));
  parse_params(lx, params);
  return ok;
}

bool parse_disposition(std::string_view value, std::string& disposition, std::vector<Param>& params) {
  Lexer lx(value);
  auto t = lx.token();
  if (!t) return false;
  disposition = *t;
  parse_params(lx, params);
  return true;
}

std::vector<std::string> parse_language(std::string_view value) {
  std::vector<std::string> tags;
  Lexer lx(value);
  while (!lx.eof()) {
    auto t = lx.token();
    if (t) tags.push_back(*t);
    if (!lx.accept(',')) {
      if (!t) lx.skip_past(',');
    }
  }
  return tags;
}

std::string parse_simple_token(std::string_view value) {
  Lexer lx(value);
  auto t = lx.token();
  return t.value_or(unfold(value));
}

}  // namespace tern::mime::detail
