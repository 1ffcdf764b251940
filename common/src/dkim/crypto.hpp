#pragma once
// EVP signing and verification of DKIM signed data (internal to tern::dkim).
// rsa-sha256: RSASSA-PKCS1-v1_5 with SHA-256 over the data (RFC 6376 §3.3.1).
// ed25519-sha256: PureEdDSA Ed25519 over the SHA-256 hash of the data (RFC 8463 §3).
#include <optional>
#include <string>
#include <string_view>

#include "tern/dkim/key.hpp"

struct evp_pkey_st;

namespace tern::dkim::detail {

std::optional<std::string> evp_sign(KeyType type, evp_pkey_st* key, std::string_view data);
bool evp_verify(KeyType type, evp_pkey_st* key, std::string_view data, std::string_view sig);

}  // namespace tern::dkim::detail
