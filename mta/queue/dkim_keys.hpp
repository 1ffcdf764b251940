#pragma once
// Which of a domain's DKIM keys sign outbound mail (key rotation). Pure.
//
// `ternctl dkim rotate` adds a new key per algorithm and keeps the old ones, and the
// new selector's TXT record may not be in DNS yet. A signature with an unpublished
// selector fails at every verifier, so per algorithm (rsa, ed25519):
//   - one key: it signs (a fresh `dkim generate`; DNS is the operator's business).
//   - several keys: the newest one whose record DNS publishes with the same public
//     key signs; when none is seen published (DNS down, nothing published yet), the
//     OLDEST key signs: it is the one that was in place before the rotation.
// So after `rotate` the old selector keeps signing until the new record is visible,
// then the new one takes over; `ternctl dkim del DOMAIN OLD` ends the old one.
// At most one signature per algorithm; rsa first, then ed25519 (RFC 8463 §4:
// verifiers that do not know ed25519 still find the rsa one).
#include <functional>
#include <string>
#include <vector>

#include "tern/store/types.hpp"

namespace tern::mta::queue {

enum class Published { yes, no, unknown };

// The name whose TXT record publishes a key: "sel._domainkey.example.test".
std::string dkim_record_name(const store::DkimKey& k);

// Does one of the TXT records (joined strings) publish the key's public key?
// no for records that are not DKIM key records or carry another key; the caller
// maps a DNS temporary failure to unknown.
Published key_published(const store::DkimKey& k, const std::vector<std::string>& txt_records);

// True when the choice needs DNS: the algorithm of `k` has more than one key in `keys`.
bool needs_dns(const std::vector<store::DkimKey>& keys, const store::DkimKey& k);

// The keys to sign with (see above). `published` is asked only for keys of an
// algorithm with several keys; unknown algorithms are skipped.
std::vector<store::DkimKey> choose_signing_keys(const std::vector<store::DkimKey>& keys,
                                                const std::function<Published(const store::DkimKey&)>& published);

}  // namespace tern::mta::queue
