#include "tern/util/fd_limit.hpp"

#include <sys/resource.h>

namespace tern::util {

std::size_t raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(rl.rlim_cur);
}

std::size_t fds_per_connection(std::string_view daemon) {
  if (daemon == "tern-imapd") return 1;  // no per-connection file: APPEND goes to memory, then the store
  return kFdsPerConnection;
}

std::string fd_budget_problem(std::string_view who, std::size_t listeners, std::size_t connections,
                              std::size_t limit, std::size_t per_connection) {
  const std::size_t need = fds_needed(listeners, connections, per_connection);
  if (need <= limit) return {};
  return (who.empty() ? std::string() : std::string(who) + ": ") + std::to_string(listeners) + " listener(s) x " + std::to_string(connections) +
         " connections ([limits] connections) need " + std::to_string(need) + " file descriptors (" +
         std::to_string(per_connection) + " per connection + " + std::to_string(kFdReserve) +
         "), but the open-files limit (RLIMIT_NOFILE) is " + std::to_string(limit) +
         ": raise it (LimitNOFILE= in tern.service, ulimit -Hn) or lower [limits] connections";
}

}  // namespace tern::util
