#include "view_cache.hpp"

namespace tern::imapd {

std::shared_ptr<const ViewSnapshot> ViewCache::find(store::MailboxId mailbox) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(mailbox);
  if (it == entries_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.snap;
}

void ViewCache::erase_locked(std::unordered_map<store::MailboxId, Entry>::iterator it) {
  bytes_ -= it->second.snap->bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void ViewCache::put(std::shared_ptr<const ViewSnapshot> s) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(s->mailbox);
  if (it != entries_.end()) {
    const ViewSnapshot& old = *it->second.snap;
    if (old.uidvalidity == s->uidvalidity && old.highestmodseq >= s->highestmodseq) return;  // as new or newer
    erase_locked(it);
  }
  if (!worth_caching(s->msgs.size()) || s->bytes > max_bytes_) return;
  while (bytes_ + s->bytes > max_bytes_ && !lru_.empty()) {
    erase_locked(entries_.find(lru_.back()));
    ++stats_.evictions;
  }
  lru_.push_front(s->mailbox);
  bytes_ += s->bytes;
  const store::MailboxId id = s->mailbox;
  entries_.emplace(id, Entry{std::move(s), lru_.begin()});
}

void ViewCache::erase(store::MailboxId mailbox) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(mailbox);
  if (it != entries_.end()) erase_locked(it);
}

ViewCache::Stats ViewCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.entries = entries_.size();
  s.bytes = bytes_;
  return s;
}

}  // namespace tern::imapd
