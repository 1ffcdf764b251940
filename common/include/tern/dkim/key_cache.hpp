#pragma once
// tern::dkim::KeyCache — parsed DKIM public keys kept between messages, so a signer seen
// again costs no base64 decode and no DER decode (OpenSSL 3 looks up a decoder for every
// d2i_PUBKEY; with the RSA verify it was most of the DKIM CPU per message).
//
// An entry is keyed by the key's DNS name ("<selector>._domainkey.<domain>") and holds the
// p= text it was parsed from: a lookup hits only when the record DNS gives now has the
// very same k= and p=, so a rotated or revoked key is never used one message longer than
// DNS publishes it (the TXT answer itself is the resolver's, with its TTL). A p= that
// does not parse is remembered with its error (same text, same error). Bounded: at most
// `capacity` names, the least recently used one is dropped first. Thread-safe (verify()
// runs on pool threads); the keys it hands out are shared, immutable EVP_PKEYs, which
// OpenSSL allows several threads to verify with at once.
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tern/dkim/key.hpp"

namespace tern::dkim {

class KeyCache {
 public:
  explicit KeyCache(std::size_t capacity = 1024) : capacity_(capacity ? capacity : 1) {}
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // PublicKey::from_p(p, type, error), remembered under `name` (nullptr: *error says why).
  std::shared_ptr<const PublicKey> get(std::string_view name, KeyType type, std::string_view p,
                                       std::string* error);

  struct Stats {
    std::size_t hits = 0, misses = 0, entries = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string name;
    KeyType type = KeyType::rsa;
    std::string p;
    std::shared_ptr<const PublicKey> key;  // nullptr: p= did not parse
    std::string error;
  };
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_ names
  std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace tern::dkim
