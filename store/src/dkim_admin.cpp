#include "tern/store/dkim_admin.hpp"

#include <algorithm>

namespace tern::store {

std::string default_dkim_selector(dkim::KeyType type, std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return std::string("t") + buf + (type == dkim::KeyType::rsa ? "r" : "e");
}

bool valid_dkim_selector(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

namespace {

// A new key, checked and made, not yet stored.
Result<NewDkimKey> make_dkim_key(Store& store, std::string_view domain, std::string selector, dkim::KeyType type,
                                 unsigned rsa_bits, std::time_t now, std::string* error) {
  auto say = [&](std::string m) {
    if (error) *error = std::move(m);
  };
  auto d = normalize_domain(domain);
  if (!d) return Errc::invalid_argument;
  if (!store.domain_exists(*d)) return Errc::unknown_domain;
  if (selector.empty()) selector = default_dkim_selector(type, now);
  if (!valid_dkim_selector(selector)) {
    say("bad selector " + selector + " (a-z, 0-9, -)");
    return Errc::invalid_argument;
  }
  if (type == dkim::KeyType::rsa && (rsa_bits < 1024 || rsa_bits > 8192)) {
    say("RSA keys have 1024 to 8192 bits");
    return Errc::invalid_argument;
  }
  auto existing = store.get_dkim_keys(*d);
  if (!existing) return existing.error();
  for (const auto& k : *existing)
    if (k.selector == selector) {
      say("selector " + selector + " exists for " + *d);
      return Errc::exists;
    }
  std::string err;
  auto key = dkim::PrivateKey::generate(type, rsa_bits, &err);
  if (!key) {
    say(err);
    return Errc::invalid_argument;
  }
  NewDkimKey out;
  out.key.domain = *d;
  out.key.selector = selector;
  out.key.algorithm = std::string(dkim::key_type_name(type));
  out.key.private_key_pem = key->to_pem();
  out.key.created = static_cast<UnixTime>(now);
  out.txt = key->dns_txt();
  out.bits = key->bits();
  return out;
}

void say_taken(Result<void>& r, const std::vector<NewDkimKey>& keys, std::string* error) {
  if (!r && r.error() == Errc::exists && error && !keys.empty())
    *error = "selector " + keys.front().key.selector + " exists for " + keys.front().key.domain;
}

}  // namespace

Result<NewDkimKey> generate_dkim_key(Store& store, std::string_view domain, std::string selector, dkim::KeyType type,
                                     unsigned rsa_bits, std::time_t now, std::string* error) {
  auto k = make_dkim_key(store, domain, std::move(selector), type, rsa_bits, now, error);
  if (!k) return k.error();
  // add, not put: a key made meanwhile under the same selector is never replaced.
  auto r = store.add_dkim_keys({k->key});
  say_taken(r, {*k}, error);
  if (!r) return r.error();
  return std::move(*k);
}

Result<std::vector<NewDkimKey>> rotate_dkim_keys(Store& store, std::string_view domain, std::time_t now,
                                                 std::string* error) {
  auto d = normalize_domain(domain);
  if (!d) return Errc::invalid_argument;
  auto keys = store.get_dkim_keys(*d);
  if (!keys) return keys.error();
  if (keys->empty()) {
    if (error) *error = "no DKIM key for " + *d + " yet: generate one first";
    return Errc::not_found;
  }
  std::vector<dkim::KeyType> types;
  for (const auto& k : *keys)
    if (auto t = dkim::parse_key_type(k.algorithm); t && std::find(types.begin(), types.end(), *t) == types.end())
      types.push_back(*t);
  std::vector<NewDkimKey> made;
  for (auto t : types) {
    // A second rotation on the same day gets "...r2", "...r3".
    std::string base = default_dkim_selector(t, now), sel = base;
    auto taken = [&](const std::string& s) {
      return std::any_of(keys->begin(), keys->end(), [&](const DkimKey& k) { return k.selector == s; });
    };
    for (int n = 2; taken(sel); ++n) sel = base + std::to_string(n);
    auto k = make_dkim_key(store, *d, sel, t, 2048, now, error);
    if (!k) return k.error();
    made.push_back(std::move(*k));
  }
  // Every algorithm's new key in one commit: never an RSA key rotated and the
  // ed25519 one not.
  std::vector<DkimKey> all;
  for (const auto& k : made) all.push_back(k.key);
  auto r = store.add_dkim_keys(all);
  if (!r && r.error() == Errc::exists && error) *error = "a key was added to " + *d + " meanwhile: rotate again";
  if (!r) return r.error();
  return made;
}

}  // namespace tern::store
