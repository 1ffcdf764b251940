#pragma once
// TLS credentials from the supervisor to a daemon over an inherited socket.
// tern creates one AF_UNIX SOCK_SEQPACKET pair per daemon start, keeps one end and
// passes the other as the fd named in TERN_TLS_FD. It sends encode(credentials) before
// exec and again before forwarding SIGHUP; each message is one whole datagram, so the
// daemon reads either a complete pair or nothing. A daemon started by hand has no
// TERN_TLS_FD and reads its files itself.
#include <chrono>
#include <optional>
#include <string>

#include "tern/tls/credentials.hpp"

namespace tern::tls {

inline constexpr const char* kTlsFdEnv = "TERN_TLS_FD";

// Supervisor side: a socketpair (close-on-exec both) whose [0] the supervisor keeps
// (non-blocking, send buffer sized for a message) and [1] the child inherits.
// Returns false with errno set.
bool make_handoff_pair(int fds[2]);

// Sends one message; "" or the error.
std::string send_credentials(int fd, const Credentials& c);

// Daemon side, process-wide: true when TERN_TLS_FD names a socket.
bool handed_off();

// Reads every message queued on TERN_TLS_FD and returns the newest valid one, or, if
// none is queued, the newest read earlier (nullopt before the first). With `wait` and
// nothing ever received, waits up to that long for the first. Thread-safe.
std::optional<Credentials> latest_handed_off(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace tern::tls
