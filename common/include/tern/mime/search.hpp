#pragma once
// Text search over a parsed message for IMAP SEARCH HEADER / BODY / TEXT (RFC 9051
// 6.4.4): case-insensitive substring match on decoded UTF-8. Header values are RFC 2047
// decoded; bodies are content-transfer decoded and converted from their charset. The
// needle is UTF-8 (imapd converts a CHARSET argument with to_utf8 first; an unknown one
// is "NO [BADCHARSET]").
//
// What BODY searches: every text/* leaf (and leaves without Content-Type), plus the
// header of each embedded message/rfc822 (it is body text of the outer message).
// Attachments (non-text leaves) are not searched, as Dovecot's default. Work is bounded
// by the message size (one decode per part).
#include <string>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

// A needle prepared once for many messages: case-folded UTF-8.
class TextNeedle {
 public:
  explicit TextNeedle(std::string_view utf8);
  bool empty() const { return folded_.empty(); }
  // Is the needle in this (already decoded) UTF-8 text?
  bool found_in(std::string_view utf8) const;
  const std::string& folded() const { return folded_; }

 private:
  std::string folded_;
};

// SEARCH HEADER field string: the field exists in `entity`'s header (the root for a
// message) and one of its occurrences contains the needle (an empty needle matches any
// message with the field, RFC 9051 6.4.4). FROM/TO/CC/BCC/SUBJECT use this too.
bool header_contains(std::string_view msg, const Part& entity, std::string_view field, const TextNeedle& needle);
// SEARCH BODY string.
bool body_contains(std::string_view msg, const Message& m, const TextNeedle& needle);
// SEARCH TEXT string: header (every field, decoded) or body.
bool text_contains(std::string_view msg, const Message& m, const TextNeedle& needle);

// The decoded text of one leaf part (transfer decoding + charset → UTF-8), for search
// and for previews in the web panel. Non-text parts give their transfer-decoded bytes.
std::string decoded_text(std::string_view msg, const Part& leaf);

}  // namespace tern::mime
