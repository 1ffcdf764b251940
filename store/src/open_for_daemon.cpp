#include "tern/store/open_for_daemon.hpp"

#include <spdlog/spdlog.h>

namespace tern::store {

StorePtr open_for_daemon(const std::filesystem::path& data_dir) {
  auto opened = Store::open(data_dir);
  if (!opened) {
    spdlog::error("cannot open the store in {}: {}", data_dir.string(), opened.error().message());
    return nullptr;
  }
  return std::move(*opened);
}

}  // namespace tern::store
