#pragma once
// tern::mime — a MIME message parser (RFC 2045/2046, RFC 5322 headers), pure: no I/O,
// no Asio, no globals. Used by tern-imapd (FETCH, SEARCH, SORT, THREAD), and meant for
// the DKIM checks and the web panel.
//
//   std::string_view msg = ...;                   // the whole stored message, CRLF or LF
//   tern::mime::Message m = tern::mime::parse(msg);
//   std::string env = tern::mime::envelope(msg, m.root);            // imap.hpp
//   std::string bs  = tern::mime::body_structure(msg, m.root, true); // imap.hpp
//
// The result holds byte OFFSETS into `msg`, never pointers: it stays valid for any copy
// of the same bytes, so it can be cached per stored body (see serialize() in cache.hpp)
// and used later with a message read back from the store.
//
// Broken MIME is tolerated, never rejected: a header line without a colon is skipped, a
// multipart without a boundary parameter, or whose boundary never appears, is a
// multipart with no children (BODYSTRUCTURE then shows one empty text/plain part, as
// Dovecot does); a missing closing boundary ends at the end of the enclosing part; a
// message/rfc822 with a base64/QP encoding (RFC 2046 5.2.1 forbids it) is still parsed
// as a message, as Dovecot does, so clients always get the message/rfc822 fields.
// Limits (as Dovecot's message parser): nesting depth 100 and 10,000 parts in total;
// a multipart or message/rfc822 beyond either limit is kept as a leaf (its bytes are
// still there for BODY[n]), and Message::limit_hit says so.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Limits {
  unsigned max_depth = 100;     // nested multipart/message levels (Dovecot: 100)
  unsigned max_parts = 10000;   // parts in the whole message (Dovecot: 10,000)
  std::size_t max_header_fields = 10000;  // per header block; further fields are not indexed
};

// The octets [b, b + n) of msg, clipped to it. A structure's offsets may describe more
// than the bytes in hand (a cached structure whose message was expunged by another
// session between two reads gets ""): reading past the end yields less, never throws.
inline std::string_view slice(std::string_view msg, std::size_t b, std::size_t n) {
  return b < msg.size() ? msg.substr(b, n) : std::string_view();
}

// One header field, as offsets into the message.
struct HeaderField {
  std::size_t begin = 0;        // first octet of the field name
  std::size_t name_len = 0;     // the name, without trailing WSP before ':'
  std::size_t value_begin = 0;  // first octet after ':'
  std::size_t value_end = 0;    // end of the value: before the final line break
  std::size_t end = 0;          // after the final line break (CRLF or LF)

  std::string_view name(std::string_view msg) const { return slice(msg, begin, name_len); }
  // Raw value: after the colon, folding line breaks kept, leading WSP kept.
  std::string_view raw_value(std::string_view msg) const {
    return slice(msg, value_begin, value_end - value_begin);
  }
  // The whole field including its final line break (for HEADER.FIELDS).
  std::string_view whole(std::string_view msg) const { return slice(msg, begin, end - begin); }
};

// A MIME parameter (Content-Type, Content-Disposition). name as written, value with
// quotes and backslash escapes removed; RFC 2231 sections are NOT merged here (IMAP
// BODYSTRUCTURE shows them as sent; decode.hpp merges and decodes them for display).
struct Param {
  std::string name;
  std::string value;
  bool operator==(const Param&) const = default;
};

enum class PartKind : std::uint8_t {
  leaf = 0,       // any single part (text/*, application/*, ...)
  multipart = 1,  // children = the body parts, in order (at least zero)
  message = 2,    // message/rfc822 (or message/global): children = {the embedded message}
};

// One entity: a message, a body part, or an embedded message.
struct Part {
  // Offsets into the message. [header_begin, header_end) are the header fields;
  // [header_end, body_begin) is the blank line (empty if the header had none);
  // [body_begin, body_end) is the body. For a body part, body_end excludes the line
  // break before the next boundary (RFC 2046 5.1.1: it belongs to the boundary).
  std::size_t header_begin = 0, header_end = 0, body_begin = 0, body_end = 0;
  std::uint64_t body_lines = 0;  // line breaks (LF) in the body, as IMAP counts lines
  std::vector<HeaderField> headers;

  // Content-Type (RFC 2045 5); when absent or unparsable: text/plain, and in a
  // multipart/digest message/rfc822 (RFC 2046 5.1.5). Lower-cased.
  std::string type = "text", subtype = "plain";
  // The same as written in the header (BODYSTRUCTURE shows them so, as Dovecot does).
  std::string type_as_sent = "text", subtype_as_sent = "plain";
  std::vector<Param> params;  // as given; empty if the header is absent
  bool has_content_type = false;
  bool invalid_content_type = false;  // present but unparsable (then text/plain)
  // Other Content-* fields: nullopt when absent. Values unfolded and trimmed (comments
  // removed where the syntax allows them).
  std::optional<std::string> id, description, encoding, md5, location;
  std::optional<std::string> disposition;  // disposition type as written (compare with iequals)
  std::vector<Param> disposition_params;
  std::vector<std::string> language;       // Content-Language tags

  PartKind kind = PartKind::leaf;
  std::vector<Part> children;

  std::size_t body_size() const { return body_end - body_begin; }
  // The value of the first field with this name (case-insensitive), raw.
  std::optional<std::string_view> header(std::string_view msg, std::string_view name) const;
  // A Content-Type parameter (case-insensitive name), or nullptr.
  const std::string* param(std::string_view name) const;
};

struct Message {
  Part root;
  bool limit_hit = false;    // a nesting or part-count limit made some part a leaf
  std::uint32_t parts = 0;   // entities in the tree, root included
};

// Parses a whole message. Never fails; see the tolerance rules above.
Message parse(std::string_view msg, const Limits& limits = {});

// Parses one header block starting at `begin` (used by parse; public for tests and for
// code that needs only the header index). Stops at the blank line, at the end of msg,
// or at `stop` (exclusive). Returns the fields; *header_end and *body_begin receive the
// end of the fields and the start of the body.
std::vector<HeaderField> parse_header(std::string_view msg, std::size_t begin, std::size_t stop,
                                      std::size_t* header_end, std::size_t* body_begin,
                                      std::size_t max_fields = 10000);

// RFC 5322 2.2.3 unfolding: CRLF (or LF) followed by WSP → the WSP. Leading and trailing
// WSP trimmed.
std::string unfold(std::string_view value);

// ASCII case-insensitive equality (header and parameter names, type names).
bool iequals(std::string_view a, std::string_view b);

}  // namespace tern::mime
