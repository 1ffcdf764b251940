#pragma once
// RLIMIT_NOFILE. systemd and most shells start a process with a soft limit of 1024
// and a much higher hard limit; 1000 connections per listener need more. Every daemon
// (and tern) raises the soft limit to the hard one at start, and refuses to start when
// its listeners' connection caps cannot fit under it.
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::util {

// Each connection may hold its socket and one file (tern-mta: an SMTP spool file;
// tern-pop3d: the maildrop lock); plus a fixed reserve for the store, logs, listeners
// and the process itself. A tern-imapd connection holds its socket only (see
// fds_per_connection).
inline constexpr std::size_t kFdsPerConnection = 2;
inline constexpr std::size_t kFdReserve = 64;

// Descriptors one connection of `daemon` ("tern-imapd", ...) holds at most: 1 for
// tern-imapd (the socket), kFdsPerConnection for the others.
std::size_t fds_per_connection(std::string_view daemon);

// Raises the soft limit to the hard limit; returns the soft limit now in force.
std::size_t raise_fd_limit();

// File descriptors `listeners` listeners of `connections` connections each need.
constexpr std::size_t fds_needed(std::size_t listeners, std::size_t connections,
                                 std::size_t per_connection = kFdsPerConnection) {
  return listeners * connections * per_connection + kFdReserve;
}

// "" when fds_needed(...) fits under `limit`, else the refusal, naming `who` (if any), the
// figures and what to change ([limits] connections, LimitNOFILE=, ulimit -n). Pure.
std::string fd_budget_problem(std::string_view who, std::size_t listeners, std::size_t connections,
                              std::size_t limit, std::size_t per_connection = kFdsPerConnection);

}  // namespace tern::util
