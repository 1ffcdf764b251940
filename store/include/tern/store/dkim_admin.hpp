#pragma once
// Making and rotating a domain's DKIM keys in the store: the one code path of
// `ternctl dkim generate|rotate` and the web panel's DNS page, so both name selectors,
// size keys and refuse the same way.
//
// Rotation makes a new key for every algorithm the domain has and keeps the old ones.
// The outbound queue signs once per algorithm (mta/queue/dkim_keys.hpp): the newest key
// whose TXT record DNS publishes, else the oldest, so the old selector keeps signing
// until the new record is seen, and nothing breaks while it propagates. Then delete the
// old key (ternctl dkim del / the panel).
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "tern/dkim/key.hpp"
#include "tern/store/store.hpp"

namespace tern::store {

// "t20261201r" (rsa) / "t20261201e" (ed25519): the default selector of a key made on
// the day of `now` (UTC).
std::string default_dkim_selector(dkim::KeyType type, std::time_t now);
// a-z, 0-9 and '-', 1..63 characters, no '-' at either end.
bool valid_dkim_selector(std::string_view selector);

struct NewDkimKey {
  DkimKey key;
  std::string txt;   // the TXT record value to publish ("v=DKIM1; k=rsa; p=...")
  unsigned bits = 0;
};

// A new key of `type` under `selector` ("" = default_dkim_selector). Errors:
// unknown_domain; invalid_argument (bad selector; rsa bits outside 1024..8192, with
// *error saying so); exists (the selector is taken: rotation makes new ones); the
// store's own errors.
Result<NewDkimKey> generate_dkim_key(Store& store, std::string_view domain, std::string selector,
                                     dkim::KeyType type, unsigned rsa_bits, std::time_t now,
                                     std::string* error = nullptr);

// See above. not_found: the domain has no key yet (generate one first).
Result<std::vector<NewDkimKey>> rotate_dkim_keys(Store& store, std::string_view domain, std::time_t now,
                                                 std::string* error = nullptr);

}  // namespace tern::store
