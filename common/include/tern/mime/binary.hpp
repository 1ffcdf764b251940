#pragma once
// RFC 3516 4.3: a message APPENDed as literal8 may hold binary body parts
// (Content-Transfer-Encoding: binary, NUL octets allowed). IMAP strings cannot carry
// NUL, so BODY[n] of such a part could not be answered; tern stores those parts
// base64-encoded instead (as Dovecot does): BODY[n] is then 7-bit text, and BINARY[n]
// decodes it back to the octets the client sent. Pure.
#include <optional>
#include <string>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

// The message with every leaf part whose Content-Transfer-Encoding is "binary"
// re-encoded as base64 (76-character lines) and its header field changed to
// "base64"; nullopt when it has no such part (store it as sent). Other parts, headers
// and the multipart structure are kept byte for byte.
std::optional<std::string> binary_parts_to_base64(std::string_view msg, const Limits& limits = {});

}  // namespace tern::mime
