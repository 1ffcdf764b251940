#include "listeners.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tern::supervisor {

std::vector<BoundSocket> bind_listeners(const std::vector<config::Endpoint>& endpoints) {
  std::vector<BoundSocket> out;
  try {
    for (const auto& ep : endpoints) {
      if (ep.port == 0) continue;
      auto fail = [&](const char* what) {
        throw std::runtime_error("cannot " + std::string(what) + " " + ep.text() + ": " +
                                 std::strerror(errno));
      };
      sockaddr_storage ss{};
      socklen_t len = 0;
      int family = ep.v6() ? AF_INET6 : AF_INET;
      if (ep.v6()) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(ep.port);
        if (inet_pton(AF_INET6, ep.host.c_str(), &a->sin6_addr) != 1) fail("parse");
        len = sizeof *a;
      } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(ep.port);
        if (inet_pton(AF_INET, ep.host.c_str(), &a->sin_addr) != 1) fail("parse");
        len = sizeof *a;
      }
      int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) fail("create a socket for");
      out.push_back({ep.text(), fd});
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (ep.v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("bind");
      if (::listen(fd, SOMAXCONN) != 0) fail("listen on");
    }
  } catch (...) {
    close_all(out);
    throw;
  }
  return out;
}

void close_all(std::vector<BoundSocket>& sockets) {
  for (auto& s : sockets)
    if (s.fd >= 0) ::close(s.fd);
  sockets.clear();
}

}  // namespace tern::supervisor
