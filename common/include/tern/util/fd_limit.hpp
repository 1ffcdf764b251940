#pragma once
// RLIMIT_NOFILE. systemd and most shells start a process with a soft limit of 1024
// and a much higher hard limit; 1000 connections per listener need more. Every daemon
// (and tern) raises the soft limit to the hard one at start, and refuses to start when
// its listeners' connection caps cannot fit under it.
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::util {

// Each connection may hold its socket and one file (an SMTP spool file); plus a fixed
// reserve for the store, logs, listeners and the process itself.
inline constexpr std::size_t kFdsPerConnection = 2;
inline constexpr std::size_t kFdReserve = 64;

// Raises the soft limit to the hard limit; returns the soft limit now in force.
std::size_t raise_fd_limit();

// File descriptors `listeners` listeners of `connections` connections each need.
constexpr std::size_t fds_needed(std::size_t listeners, std::size_t connections) {
  return listeners * connections * kFdsPerConnection + kFdReserve;
}

// "" when fds_needed(...) fits under `limit`, else the refusal, naming `who` (if any), the
// figures and what to change ([limits] connections, LimitNOFILE=, ulimit -n). Pure.
std::string fd_budget_problem(std::string_view who, std::size_t listeners, std::size_t connections,
                              std::size_t limit);

}  // namespace tern::util
