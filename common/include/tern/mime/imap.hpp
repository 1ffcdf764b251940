#pragma once
// IMAP renderings of a parsed message (RFC 3501 7.4.2 / RFC 9051 7.5.2): ENVELOPE,
// BODY and BODYSTRUCTURE, as the exact wire text that follows the item name, e.g.
//
//   out += "ENVELOPE "; out += tern::mime::envelope(msg, m.root);
//   out += "BODYSTRUCTURE "; out += tern::mime::body_structure(msg, m.root, true);
//
// Strings are written quoted, or as a literal "{n}\r\n..." when they hold CR, LF, NUL or
// 8-bit octets (RFC 9051 4.3; a UTF8=ACCEPT session may send them quoted, but a literal
// is always valid). `msg` must be the bytes the Message was parsed from.
#include <optional>
#include <string>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

// The ENVELOPE of `entity` (the root, or the child of a message/rfc822 part):
// (date subject from sender reply-to to cc bcc in-reply-to message-id). Sender and
// Reply-To default to From (RFC 9051 7.5.2). Header values are unfolded, not decoded.
std::string envelope(std::string_view msg, const Part& entity);

// BODY (extended = false) or BODYSTRUCTURE (extended = true) of `part`. Extension data
// is written in full: for a multipart (params disposition language location), for a
// leaf (md5 disposition language location). text/* and message/rfc822 get line counts;
// message/rfc822 gets the envelope and the body of the embedded message. A part without
// Content-Type gets ("charset" "us-ascii") (RFC 2045 5.2).
std::string body_structure(std::string_view msg, const Part& part, bool extended);

// IMAP string writers (exposed for imapd): nstring writes NIL for nullopt.
void append_string(std::string& out, std::string_view s);
void append_nstring(std::string& out, const std::optional<std::string>& s);

}  // namespace tern::mime
