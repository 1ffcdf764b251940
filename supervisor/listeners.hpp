#pragma once
// Listening sockets bound by the supervisor when it runs as root, so that privileged
// ports work after the daemons drop privileges. Each daemon inherits its sockets and
// finds them through TERN_LISTEN_FDS="127.0.0.1:25=3,[::1]:25=4" (tern/net/listen_fds.hpp).
#include "tern/config/config.hpp"

#include <string>
#include <vector>

namespace tern::supervisor {

struct BoundSocket {
  std::string endpoint;  // Endpoint::text()
  int fd = -1;           // listening, close-on-exec in the supervisor
};

// Binds and listens on every endpoint (SO_REUSEADDR; IPV6_V6ONLY for IPv6 so that
// "0.0.0.0:25" and "[::]:25" can both be listed). Throws std::runtime_error naming the
// endpoint and errno text on failure. Port 0 endpoints are skipped (the daemon binds).
std::vector<BoundSocket> bind_listeners(const std::vector<config::Endpoint>& endpoints);

void close_all(std::vector<BoundSocket>& sockets);

}  // namespace tern::supervisor
