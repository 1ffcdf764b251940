#pragma once
// Base64 (RFC 4648 §4, the standard alphabet with '=' padding), pure and strict.
// Used by SASL (RFC 4954 §4, RFC 3501 §6.2.2, RFC 5034 §4) and the SCRAM attributes.
#include <optional>
#include <string>
#include <string_view>

namespace tern::util {

// Encode bytes; the result is padded to a multiple of 4 characters.
std::string base64_encode(std::string_view bytes);

// Decode strictly: only A-Z a-z 0-9 + /, length a multiple of 4, '=' only as the
// final one or two characters, and the unused low bits of the last symbol zero
// (RFC 4648 §3.5 canonical form). No whitespace or line breaks are accepted.
// Returns std::nullopt for anything else. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view text);

// Exact decoded length of a well-formed input (for checking limits before decoding);
// for malformed input an upper bound.
std::size_t base64_decoded_size(std::string_view text);

}  // namespace tern::util
