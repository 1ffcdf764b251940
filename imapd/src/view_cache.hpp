#pragma once
// ViewCache: one per tern-imapd process, shared by the sessions of every io thread. It
// keeps the flat view (MailboxView's message array and keyword tables) of recently
// selected big mailboxes, each an immutable snapshot as of one HIGHESTMODSEQ. A SELECT
// of a cached mailbox copies the snapshot (a memcpy: 4.8 MB for 100,000 messages) and
// reads from the store only what changed since (Store::changes_since, the MODSEQ index):
// O(changes) instead of reading every message's record (issue 17: SELECT + FETCH FLAGS
// of 100,000 messages under 20 ms). It then publishes the newer snapshot.
//
// Nothing here is per session: \Recent and "expunged, not yet reported" are not in a
// snapshot (all false); the session marks them after the copy. A snapshot whose
// UIDVALIDITY is not the mailbox's any more is not used (and is replaced).
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mailbox_view.hpp"

namespace tern::imapd {

struct ViewSnapshot {
  store::MailboxId mailbox = 0;
  std::uint32_t uidvalidity = 0;
  store::ModSeq highestmodseq = 0;    // the messages below are exactly those of this MODSEQ
  std::vector<ViewMsg> msgs;          // ascending UID; recent and expunged false
  std::vector<std::string> kwlists;   // MailboxView's distinct keyword lists, [0] = ""
  std::vector<std::string> keywords;  // MailboxView::keywords
  std::size_t bytes = 0;              // memory it holds, about
};

class ViewCache {
 public:
  // Mailboxes of fewer than min_messages are not kept; the total is at most max_bytes
  // ([imap] view_cache_messages, view_cache_size).
  ViewCache(std::size_t max_bytes, std::size_t min_messages) : max_bytes_(max_bytes), min_messages_(min_messages) {}

  // The mailbox's snapshot (it becomes the most recently used), or nullptr.
  std::shared_ptr<const ViewSnapshot> find(store::MailboxId mailbox);
  bool worth_caching(std::size_t messages) const { return messages >= min_messages_; }
  // Keeps `s` for its mailbox unless a snapshot of the same UIDVALIDITY and a higher
  // HIGHESTMODSEQ is there already; a mailbox too small to cache is dropped instead.
  // Least recently used snapshots go while the total is over max_bytes.
  void put(std::shared_ptr<const ViewSnapshot> s);
  void erase(store::MailboxId mailbox);

  struct Stats {
    std::uint64_t hits = 0, misses = 0, evictions = 0;
    std::size_t entries = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const ViewSnapshot> snap;
    std::list<store::MailboxId>::iterator lru;
  };
  void erase_locked(std::unordered_map<store::MailboxId, Entry>::iterator it);

  const std::size_t max_bytes_;
  const std::size_t min_messages_;
  mutable std::mutex mu_;
  std::unordered_map<store::MailboxId, Entry> entries_;
  std::list<store::MailboxId> lru_;  // front: most recently used
  std::size_t bytes_ = 0;
  Stats stats_;
};

}  // namespace tern::imapd
