#pragma once
// DKIM signer (RFC 6376 §5, RFC 8463): rsa-sha256 and ed25519-sha256 signatures on
// OpenSSL 3 EVP. Pure (no I/O, no DNS, no globals); thread-safe for concurrent calls.
//
// Usage (outbound delivery, one signature per configured key; rsa first, then ed25519):
//
//   std::string err;
//   auto key = tern::dkim::PrivateKey::from_pem(stored.private_key_pem, &err);
//   tern::dkim::SignOptions o;  o.domain = "example.com";  o.selector = "s1";
//   o.timestamp = time(nullptr);
//   auto field = tern::dkim::sign(message_crlf, *key, o, &err);   // optional<string>
//   message = *field + message;   // "DKIM-Signature: v=1; a=...\r\n" prepended
//
// With two keys, sign the same unsigned message twice and prepend both fields (each
// signature covers only the listed fields, so the order of prepending does not matter).
//
// Input: the message as it will be sent, in CRLF form (to_crlf() for LF text), without
// dot-stuffing. Output: one complete header field "DKIM-Signature: ...\r\n", folded at
// about 76 columns with CRLF + TAB, ready to prepend. Signed header fields: those of
// `headers` present in the message, each as many times as it occurs (bottom-up), plus one
// more instance of each name in `oversign` (RFC 6376 §8.15: an added From/Subject/...
// then breaks the signature). `From` must be present (§5.4: it MUST be signed).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/dkim/canon.hpp"
#include "tern/dkim/key.hpp"

namespace tern::dkim {

// The default signed fields (RFC 6376 §5.4.1's list, minus trace fields).
const std::vector<std::string>& default_signed_headers();
// Oversigned by default: from (required by the issue), reply-to, subject, date, to, cc.
const std::vector<std::string>& default_oversigned_headers();

struct SignOptions {
  std::string domain;                        // d=
  std::string selector;                      // s=
  Canon header_canon = Canon::relaxed;       // c=relaxed/relaxed
  Canon body_canon = Canon::relaxed;
  std::vector<std::string> headers = default_signed_headers();       // lower or any case
  std::vector<std::string> oversign = default_oversigned_headers();
  std::optional<std::int64_t> timestamp;     // t= (seconds since the epoch)
  std::optional<std::int64_t> expiration;    // x= (must be > t when both are set)
  std::optional<std::uint64_t> body_length;  // l= (not recommended; for tests)
  std::string identity;                      // i= (empty: omitted, meaning @domain)
};

// nullopt with *error when the message has no From, an option is invalid (empty
// domain/selector, characters outside the RFC syntax) or OpenSSL fails.
std::optional<std::string> sign(std::string_view message_crlf, const PrivateKey& key,
                                const SignOptions& opts, std::string* error);

}  // namespace tern::dkim
