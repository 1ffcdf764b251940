#pragma once
// The store side of the per-process change notifier: a ChangeSource (plain callbacks,
// no Asio) reading one Store::Watcher and Store::highest_modseqs. Create ONE watcher per
// process and give it to one tern::net::ChangeNotifier (tern/net/change_notifier.hpp).
#include <memory>

#include "tern/net/change_source.hpp"
#include "tern/store/store.hpp"

namespace tern::store {

inline net::ChangeSource change_source(Store& store, std::shared_ptr<Store::Watcher> watcher) {
  net::ChangeSource s;
  s.fd = watcher ? watcher->fd() : -1;
  s.drain = [watcher] {
    if (watcher) watcher->drain();
  };
  s.commit_counter = [&store] { return store.last_commit(); };
  s.lookup = [&store](const std::vector<std::uint64_t>& keys, std::vector<std::optional<std::uint64_t>>& values)
      -> std::optional<std::uint64_t> {
    auto snap = store.highest_modseqs(keys);
    if (!snap) return std::nullopt;
    values.assign(snap->values.begin(), snap->values.end());
    return snap->txn;
  };
  return s;
}

}  // namespace tern::store
