// DKIM signing key choice (dkim_keys.hpp).
#include "queue/dkim_keys.hpp"

#include <algorithm>

#include "tern/dkim/key.hpp"
#include "tern/dkim/verifier.hpp"

namespace tern::mta::queue {

std::string dkim_record_name(const store::DkimKey& k) { return k.selector + "._domainkey." + k.domain; }

Published key_published(const store::DkimKey& k, const std::vector<std::string>& txt_records) {
  std::string err;
  auto key = dkim::PrivateKey::from_pem(k.private_key_pem, &err);
  if (!key) return Published::no;
  const std::string p = key->public_p();
  for (const auto& t : txt_records) {
    auto rec = dkim::parse_key_record(t, &err);
    if (rec && rec->type == key->type() && rec->p == p) return Published::yes;
  }
  return Published::no;
}

bool needs_dns(const std::vector<store::DkimKey>& keys, const store::DkimKey& k) {
  return std::count_if(keys.begin(), keys.end(),
                       [&](const store::DkimKey& o) { return o.algorithm == k.algorithm; }) > 1;
}

std::vector<store::DkimKey> choose_signing_keys(const std::vector<store::DkimKey>& keys,
                                                const std::function<Published(const store::DkimKey&)>& published) {
  std::vector<store::DkimKey> out;
  for (const char* algo : {"rsa", "ed25519"}) {
    std::vector<const store::DkimKey*> mine;
    for (const auto& k : keys)
      if (k.algorithm == algo) mine.push_back(&k);
    if (mine.empty()) continue;
    // Newest first (created, then selector: rotate's "…r2" after "…r" of the same day).
    std::sort(mine.begin(), mine.end(), [](const store::DkimKey* a, const store::DkimKey* b) {
      if (a->created != b->created) return a->created > b->created;
      return a->selector > b->selector;
    });
    const store::DkimKey* pick = nullptr;
    if (mine.size() == 1) {
      pick = mine.front();
    } else {
      for (const auto* k : mine)
        if (published(*k) == Published::yes) {
          pick = k;
          break;
        }
      if (!pick) pick = mine.back();  // nothing visible: the key from before the rotation
    }
    out.push_back(*pick);
  }
  return out;
}

}  // namespace tern::mta::queue
