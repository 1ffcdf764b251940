#pragma once
// BODY[section]<partial> and BINARY[section] (RFC 9051 6.4.5, RFC 3516) over a parsed
// message. Pure.
//
//   auto sec = tern::mime::parse_section("1.2.HEADER.FIELDS (From To)");  // text in []
//   if (!sec) → BAD
//   auto bytes = tern::mime::extract_section(msg, m, *sec);   // nullopt: no such part
//   std::string_view wire = tern::mime::apply_partial(*bytes, 0, 1024);    // <0.1024>
//
// Part numbers follow RFC 9051 6.4.5: the parts of a multipart are 1..n; a non-multipart
// message (or embedded message/rfc822 whose body is not multipart) has one part, 1; the
// part numbers of a message/rfc822 part address the parts of the embedded message.
// A part that does not exist gives nullopt: imapd answers it with an empty string, as
// Dovecot does (RFC 9051 leaves it open).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mime {

struct Section {
  std::vector<std::uint32_t> part;  // "1.2" → {1, 2}; empty = the whole message
  enum class Text : std::uint8_t {
    none,               // BODY[] / BODY[1.2]: the whole message / part body
    header,             // HEADER (including the blank line)
    header_fields,      // HEADER.FIELDS (list)
    header_fields_not,  // HEADER.FIELDS.NOT (list)
    mime,               // MIME: the part's own header (part number required)
    text,               // TEXT: the body of the message or embedded message
  } text = Text::none;
  std::vector<std::string> fields;  // for header_fields(_not), as the client wrote them
};

// Parses the text between '[' and ']' of BODY[...]; nullopt if malformed (BAD): part
// numbers must be non-zero, MIME needs a part number, HEADER.FIELDS needs a non-empty
// list of astrings. For BINARY[...] pass binary = true: only part numbers are allowed.
// Field lists are bounded (max_fields) so a hostile command cannot grow without limit.
std::optional<Section> parse_section(std::string_view spec, bool binary = false, std::size_t max_fields = 1000);

// The canonical text of a section as a FETCH response names it ("1.2.HEADER.FIELDS
// (FROM TO)").
std::string section_name(const Section& s);

// The entity a part number path designates, or nullptr. An empty path is the root.
const Part* find_part(const Message& m, const std::vector<std::uint32_t>& path);

// The octets of BODY[section] (before <partial>), a copy; nullopt if the part does not
// exist or the section does not apply (HEADER of a part that is not a message/rfc822).
std::optional<std::string> extract_section(std::string_view msg, const Message& m, const Section& s);

// <origin.count> applied to a section's octets (RFC 9051 6.4.5): from origin, at most
// count octets (all if count is nullopt); empty if origin is beyond the end.
std::string_view apply_partial(std::string_view bytes, std::uint64_t origin,
                               std::optional<std::uint64_t> count = std::nullopt);

// BINARY[section]: the content-transfer-decoded body of a leaf part (RFC 3516 4.2).
enum class BinaryError { none, no_such_part, unknown_cte, not_leaf };
struct BinaryResult {
  BinaryError error = BinaryError::none;  // unknown_cte → "NO [UNKNOWN-CTE]"
  std::string data;
};
// For an empty path (BINARY[]) the whole message is returned unchanged. A multipart or
// message/rfc822 part is returned unchanged (not decoded; RFC 3516 defines decoding for
// leaves only).
BinaryResult extract_binary(std::string_view msg, const Message& m, const std::vector<std::uint32_t>& path);

// Content-transfer decoding (RFC 2045 6.7, 6.8). Both are lenient: base64 skips
// characters outside the alphabet and stops at '='; quoted-printable keeps a malformed
// '=' sequence as is and handles soft line breaks with trailing whitespace.
std::string decode_base64_lenient(std::string_view in);
std::string decode_quoted_printable(std::string_view in, bool header_q = false);  // header_q: '_' → space (RFC 2047 4.2)
// Decodes `body` by the encoding name (7bit/8bit/binary: unchanged); nullopt if the
// encoding is unknown.
std::optional<std::string> decode_transfer(std::string_view body, std::string_view encoding);

}  // namespace tern::mime
