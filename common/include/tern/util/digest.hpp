#pragma once
// SHA-256 and HMAC-SHA-256 over byte strings (OpenSSL). Pure; used by SCRAM (RFC 5802)
// and the password/credential code. Results are raw bytes (32), not hex.
#include <string>
#include <string_view>

namespace tern::util {

std::string sha256(std::string_view msg);
std::string hmac_sha256(std::string_view key, std::string_view msg);

}  // namespace tern::util
