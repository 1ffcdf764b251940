// TLS credentials over an inherited SOCK_SEQPACKET socket; see tern/tls/handoff.hpp.
#include "tern/tls/handoff.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace tern::tls {

namespace {

// One message holds both PEM texts and the header.
constexpr std::size_t kMaxMessage = 2 * kMaxPemBytes + 64;

int env_fd() {
  const char* v = std::getenv(kTlsFdEnv);
  if (!v || !*v) return -1;
  int fd = -1;
  auto [p, ec] = std::from_chars(v, v + std::strlen(v), fd);
  if (ec != std::errc{} || *p != '\0' || fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  return fd;
}

struct State {
  std::mutex mu;
  int fd = env_fd();
  std::optional<Credentials> latest;
};

State& state() {
  static State s;
  return s;
}

}  // namespace

bool make_handoff_pair(int fds[2]) {
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return false;
  int size = static_cast<int>(4 * kMaxMessage);  // a few reloads' worth, unread
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::shutdown(fds[1], SHUT_WR);  // the daemon only listens
  return true;
}

std::string send_credentials(int fd, const Credentials& c) {
  const std::string msg = encode(c);
  for (;;) {
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(msg.size())) return {};
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::strerror(errno);
    return "short send";
  }
}

bool handed_off() { return state().fd >= 0; }

std::optional<Credentials> latest_handed_off(std::chrono::milliseconds wait) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.fd < 0) return std::nullopt;
  std::vector<char> buf(kMaxMessage + 1);
  bool waited = false;
  for (;;) {
    ssize_t n = ::recv(s.fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && static_cast<std::size_t>(n) <= kMaxMessage) {
      if (auto c = decode(std::string_view(buf.data(), static_cast<std::size_t>(n)))) s.latest = std::move(c);
      continue;  // a newer one may be queued behind it
    }
    if (n > 0) continue;  // oversized (truncated): skip it
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !s.latest && wait.count() > 0 && !waited) {
      pollfd p{s.fd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(wait.count()));
      waited = true;
      continue;
    }
    break;  // nothing more queued, or the supervisor's end closed (n == 0)
  }
  return s.latest;
}

}  // namespace tern::tls
