#include "tern/dkim/key_cache.hpp"

namespace tern::dkim {

std::shared_ptr<const PublicKey> KeyCache::get(std::string_view name, KeyType type, std::string_view p,
                                               std::string* error) {
  {
    std::lock_guard lk(mu_);
    auto it = index_.find(name);
    if (it != index_.end() && it->second->type == type && it->second->p == p) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      if (!it->second->key && error) *error = it->second->error;
      return it->second->key;
    }
    ++misses_;
  }
  // Parse outside the lock (the DER decode is the slow part); two threads missing the
  // same name at once both parse, and the second store replaces the first.
  Entry e;
  e.name = std::string(name);
  e.type = type;
  e.p = std::string(p);
  if (auto parsed = PublicKey::from_p(p, type, &e.error)) e.key = std::make_shared<const PublicKey>(std::move(*parsed));
  std::shared_ptr<const PublicKey> out = e.key;
  if (!out && error) *error = e.error;
  std::lock_guard lk(mu_);
  if (auto it = index_.find(name); it != index_.end()) {  // a changed record: replace
    auto node = it->second;
    index_.erase(it);
    lru_.erase(node);
  }
  lru_.push_front(std::move(e));
  index_.emplace(lru_.front().name, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().name);
    lru_.pop_back();
  }
  return out;
}

KeyCache::Stats KeyCache::stats() const {
  std::lock_guard lk(mu_);
  return Stats{hits_, misses_, lru_.size()};
}

}  // namespace tern::dkim
