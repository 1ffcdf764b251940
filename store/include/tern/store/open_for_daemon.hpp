#pragma once
// The store as a daemon opens it at start (tern/daemon/entry.hpp): Store::open, and on
// failure one error line "cannot open the store in DIR: why" and nullptr; the daemon
// then exits 75 (EX_TEMPFAIL: the supervisor retries with backoff).
#include <filesystem>

#include "tern/store/store.hpp"

namespace tern::store {

StorePtr open_for_daemon(const std::filesystem::path& data_dir);

}  // namespace tern::store
