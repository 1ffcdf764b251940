#pragma once
// Internal helpers of the MIME parser (not installed; common/src/mime only).
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mime::detail {

// End of the line starting at pos: just after its LF, or stop.
std::size_t line_end(std::string_view msg, std::size_t pos, std::size_t stop);
// The end of a line's content: `next` minus its LF or CRLF.
std::size_t strip_eol(std::string_view msg, std::size_t line_begin, std::size_t next);

std::vector<HeaderField> parse_header_until(std::string_view msg, std::size_t begin, std::size_t stop,
                                            const std::function<bool(std::size_t)>& is_boundary,
                                            std::size_t max_fields, std::size_t* header_end,
                                            std::size_t* body_begin);

// RFC 2045 structured field lexer: tokens, quoted strings, CFWS with nested comments.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void skip_cfws();
  bool eof() { skip_cfws(); return i_ >= s_.size(); }
  // Next significant character (after CFWS), or '\0' at the end.
  char peek() { skip_cfws(); return i_ < s_.size() ? s_[i_] : '\0'; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // An RFC 2045 token (tspecials excluded; 8-bit octets allowed, broken mail has them).
  std::optional<std::string> token();
  // A quoted string (content with quoted-pairs resolved), if the next char is '"'.
  std::optional<std::string> quoted();
  // token or quoted string.
  std::optional<std::string> value();
  // Skip to just after the next `c` outside quotes and comments (error recovery).
  void skip_past(char c);
  // Raw text up to (not including) the next `c` or the end, trimmed, line breaks removed.
  std::string raw_until(char c);
  // Step back over a ';' just consumed by skip_past (so the param loop sees it).
  void unget_semicolon();
  std::size_t pos() const { return i_; }
  void seek(std::size_t p) { i_ = p; }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// "type/subtype; a=b" → type, subtype (lower-cased) and params; false if type/subtype
// are missing (params are still returned).
bool parse_content_type(std::string_view value, std::string& type, std::string& subtype,
                        std::vector<Param>& params, std::string* type_as_sent = nullptr,
                        std::string* subtype_as_sent = nullptr);
// "attachment; filename=x" → disposition (lower-cased) and params.
bool parse_disposition(std::string_view value, std::string& disposition, std::vector<Param>& params);
// "en, de-CH" → tags.
std::vector<std::string> parse_language(std::string_view value);
// A single token value with comments removed ("base64 (comment)" → "base64").
std::string parse_simple_token(std::string_view value);

std::string lower(std::string_view s);

}  // namespace tern::mime::detail
