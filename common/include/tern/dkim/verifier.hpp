#pragma once
// DKIM verifier (RFC 6376 §6, RFC 8463, RFC 8301): every DKIM-Signature field of a
// message (up to kMaxSignatures, top first), rsa-sha256 and ed25519-sha256; rsa-sha1 and
// RSA keys below 1024 bits are refused (permerror). l= is honoured (the signed body
// prefix); z= is decoded for diagnostics only (§3.5: never used to verify): on a header
// hash failure the reason names the copied fields that differ.
//
// Pure and two-phase, so that DNS stays with the caller:
//   Verifier v(message_crlf);
//   for (auto& q : v.key_queries()) answers[q] = co_await resolve TXT q;   // async
//   auto results = v.verify([&](std::string_view q) { return &answers[q]; }, now);
// verify() does the hashing and the public-key operations (≈0.1 ms per signature): run
// it off the io thread for large messages.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/checks/dns_answer.hpp"
#include "tern/dkim/canon.hpp"
#include "tern/dkim/key.hpp"
#include "tern/dkim/key_cache.hpp"
#include "tern/dkim/message.hpp"

namespace tern::dkim {

enum class Result { none, pass, fail, neutral, policy, temperror, permerror };
std::string_view result_name(Result r);  // the RFC 8601 §2.7.1 token

inline constexpr std::size_t kMaxSignatures = 8;

struct SignatureResult {
  Result result = Result::permerror;
  std::string domain;     // d= (lower case; empty when unparsable)
  std::string selector;   // s=
  std::string identity;   // i= (defaults to "@d")
  std::string algorithm;  // a=
  std::string b_prefix;   // first 8 characters of b= (RFC 6008 header.b)
  unsigned key_bits = 0;
  bool testing = false;   // key record t=y
  std::string reason;     // human text for the A-R comment and logs
};

// One parsed DKIM-Signature (exposed for tests and the fuzz target).
struct Signature {
  std::string algorithm;            // "rsa-sha256" / "ed25519-sha256"
  KeyType key_type = KeyType::rsa;
  Canon header_canon = Canon::simple, body_canon = Canon::simple;
  std::string domain, selector, identity;
  std::vector<std::string> headers;  // h=, lower case
  std::string bh, b;                 // decoded raw bytes
  std::string b_text;                // b= with FWS removed (base64)
  std::optional<std::uint64_t> length;
  std::optional<std::int64_t> timestamp, expiration;
  std::vector<std::pair<std::string, std::string>> copied;  // z=: (name, decoded value)
};

// Parse the value of a DKIM-Signature field (the text after "DKIM-Signature:").
// nullopt with *error for anything §3.5 and §6.1.1 call a PERMFAIL.
std::optional<Signature> parse_signature(std::string_view value, std::string* error);

struct KeyRecord {
  KeyType type = KeyType::rsa;
  std::string p;         // base64, FWS removed; empty = revoked
  bool testing = false;  // t=y
  bool strict = false;   // t=s: i= must be exactly d=
};
std::optional<KeyRecord> parse_key_record(std::string_view txt, std::string* error);

class Verifier {
 public:
  explicit Verifier(std::string message_crlf);
  Verifier(const Verifier&) = delete;  // holds views into its own text
  Verifier& operator=(const Verifier&) = delete;

  // The message's header fields and body (nullptr when the header could not be split).
  const SplitMessage* message() const { return msg_ ? &*msg_ : nullptr; }

  // "<selector>._domainkey.<domain>" for each signature that parsed, deduplicated.
  std::vector<std::string> key_queries() const;

  // `lookup(name)` returns the TXT answer for a key query (nullptr = temperror).
  // `now` is seconds since the epoch (for x=). Empty result = no signature (dkim=none).
  // `keys` (optional, shared between messages): parsed public keys (key_cache.hpp).
  std::vector<SignatureResult> verify(
      const std::function<const checks::DnsAnswer*(std::string_view)>& lookup, std::int64_t now,
      KeyCache* keys = nullptr) const;

 private:
  struct Entry {
    std::size_t field = 0;           // index into headers_
    std::optional<Signature> sig;
    std::string parse_error;
  };
  std::string text_;                 // owned copy the views point into
  std::optional<SplitMessage> msg_;  // nullopt: the header could not be split
  std::vector<Entry> entries_;
};

}  // namespace tern::dkim
