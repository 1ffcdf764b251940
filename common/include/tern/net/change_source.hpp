#pragma once
// What a ChangeNotifier (change_notifier.hpp) watches, as plain callbacks, so that
// common/ needs no store headers (design §1: common uses neither store nor daemons).
// tern/store/change_source.hpp fills one from a Store. No Asio here.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace tern::net {

struct ChangeSource {
  // Becomes readable after a commit by any process (the store's inotify watcher); -1 if
  // unavailable: the notifier then polls every recheck interval. The notifier does not
  // own or close it.
  int fd = -1;
  // Called after fd was readable (read away the events).
  std::function<void()> drain;
  // Grows with every commit by any process; cheap (no transaction).
  std::function<std::uint64_t()> commit_counter;
  // Current values for the keys (mailbox id → HIGHESTMODSEQ), read in one consistent
  // snapshot; nullopt for a key that is gone (mailbox deleted). Returns the commit
  // counter that snapshot saw, or nullopt on a read error (the notifier retries at the
  // next recheck). Called on the notifier's thread.
  std::function<std::optional<std::uint64_t>(const std::vector<std::uint64_t>& keys,
                                              std::vector<std::optional<std::uint64_t>>& values)>
      lookup;
};

}  // namespace tern::net
