#pragma once
// A message split into header fields and body, for DKIM (RFC 6376 §3.4, §5.4).
// Pure: views into the caller's text, which must outlive the result and must use
// CRLF line endings (the SMTP wire form after dot-unstuffing; to_crlf() converts
// LF-only text). The header ends at the first empty line; a message with no empty
// line is all header and an empty body. At most kMaxHeaderFields fields.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::dkim {

struct HeaderField {
  std::string_view name;  // the field name as written (no trailing WSP, no colon)
  std::string_view raw;   // the whole field as received, folding CRLFs included,
                          // without the final CRLF
};

struct SplitMessage {
  std::vector<HeaderField> headers;  // in order, top first
  std::string_view body;             // after the empty line ("" if none)
};

inline constexpr std::size_t kMaxHeaderFields = 2000;

// nullopt for a header line that is neither "name: ..." nor a continuation, or for too
// many fields; *error says why.
std::optional<SplitMessage> split_message(std::string_view crlf_text, std::string* error);

// Text with each bare LF turned into CRLF (CRLF pairs are kept as they are).
std::string to_crlf(std::string_view text);

bool iequals(std::string_view a, std::string_view b);
std::string lower(std::string_view s);

}  // namespace tern::dkim
