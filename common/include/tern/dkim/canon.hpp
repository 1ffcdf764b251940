#pragma once
// DKIM canonicalisation (RFC 6376 §3.4): "simple" and "relaxed" for header fields and
// for bodies. Pure; input in CRLF form (see message.hpp).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/dkim/message.hpp"

namespace tern::dkim {

enum class Canon { simple, relaxed };

std::string_view canon_name(Canon c);  // "simple" / "relaxed"

// One header field, canonicalised, followed by CRLF (§3.4.1, §3.4.2).
std::string canon_header(std::string_view raw_field, Canon c);

// Feed the canonical body (§3.4.3, §3.4.4) to `sink` piece by piece, stopping after
// `limit` octets when given (the l= tag). Returns the full canonical length (not
// limited), so a verifier can see l= larger than the body. Streaming: no copy of the
// body is made.
std::uint64_t canon_body(std::string_view body, Canon c,
                         const std::function<void(std::string_view)>& sink,
                         std::optional<std::uint64_t> limit = std::nullopt);

// Convenience for tests: the whole canonical body as a string.
std::string canon_body_string(std::string_view body, Canon c);

// SHA-256 of the canonical body, limited to `limit` octets; *canon_len gets the full
// canonical length. Raw 32 bytes.
std::string body_hash_sha256(std::string_view body, Canon c, std::optional<std::uint64_t> limit,
                             std::uint64_t* canon_len = nullptr);

// The header part of the signed data (§3.7 step 1): for each name of `h` in order, the
// next not yet used instance of that field counting from the bottom, canonicalised;
// names with no instance left contribute nothing (that is how oversigning works).
std::string signed_header_data(const SplitMessage& msg, const std::vector<std::string>& h,
                               Canon c);

}  // namespace tern::dkim
