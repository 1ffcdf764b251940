// pop3_load: a small fast POP3 load client for bench/pop3 (one thread, epoll).
//
//   pop3_load PORT PASSWORD EXPECT USER...
//
// Every USER opens one session at the same moment: greeting, USER, PASS, LIST, RETR of every
// listed message, QUIT, one command at a time. Replies are read in bulk (whole socket
// reads); a multi-line reply ends at CRLF "." CRLF, which dot-stuffing keeps out of message
// text (RFC 1939 section 3). Each RETR payload, un-stuffed, must have the octet count LIST
// gave; each user must list EXPECT messages (EXPECT < 0: any). Prints one line:
//   retrs=N octets=N wall_s=F client_cpu_s=F
// and exits 0, or prints the first error and exits 1. Loopback only; gives up after 300 s.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

enum class Step { Greeting, User, Pass, List, Retr, Quit, Done };

struct Session {
  int fd_ = -1;
  std::string user_;
  Step step_ = Step::Greeting;
  std::string buf_;
  std::vector<std::pair<long, long>> list_;  // (number, octets)
  size_t next_ = 0;                          // index into list_ of the RETR in flight
  long octets_ = 0;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "pop3_load: %s\n", what.c_str());
  std::exit(1);
}

void send_all(Session& s, const std::string& line) {
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::send(s.fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;  // tiny commands: spin is fine
      fail(s.user_ + ": send: " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
}

bool multi_line(Step step) { return step == Step::List || step == Step::Retr; }

// A whole reply is in buf_: single-line replies end at the first CRLF, multi-line ones at
// CRLF "." CRLF (or are a single -ERR line).
bool reply_complete(const Session& s) {
  std::string_view b = s.buf_;
  if (!multi_line(s.step_) || b.starts_with("-ERR")) return b.find("\r\n") != b.npos;
  return b.size() >= 5 && b.ends_with("\r\n.\r\n");
}

long unstuffed_payload(std::string_view body) {
  long stuffed = body.starts_with("..") ? 1 : 0;
  for (size_t p = body.find("\r\n.."); p != body.npos; p = body.find("\r\n..", p + 2)) ++stuffed;
  return static_cast<long>(body.size()) - stuffed;
}

// Handle one complete reply and send the next command. Returns false when the session ends.
bool advance(Session& s, const std::string& password, long expect, long& retrs) {
  std::string_view b = s.buf_;
  if (!b.starts_with("+OK")) fail(s.user_ + ": " + std::string(b.substr(0, b.find("\r\n"))));
  size_t first_end = b.find("\r\n");
  std::string_view body;
  if (multi_line(s.step_)) body = b.substr(first_end + 2, b.size() - first_end - 2 - 3);
  switch (s.step_) {
    case Step::Greeting:
      send_all(s, "USER " + s.user_ + "\r\n");
      s.step_ = Step::User;
      break;
    case Step::User:
      send_all(s, "PASS " + password + "\r\n");
      s.step_ = Step::Pass;
      break;
    case Step::Pass:
      send_all(s, "LIST\r\n");
      s.step_ = Step::List;
      break;
    case Step::List: {
      size_t pos = 0;
      while (pos < body.size()) {
        size_t e = body.find("\r\n", pos);
        std::string line(body.substr(pos, e - pos));
        pos = e + 2;
        long num = 0, size = 0;
        if (std::sscanf(line.c_str(), "%ld %ld", &num, &size) != 2) fail(s.user_ + ": LIST line " + line);
        s.list_.emplace_back(num, size);
      }
      if (expect >= 0 && static_cast<long>(s.list_.size()) != expect)
        fail(s.user_ + ": LIST gave " + std::to_string(s.list_.size()) + " messages, expected " +
             std::to_string(expect));
      s.next_ = 0;
      if (s.list_.empty()) {
        send_all(s, "QUIT\r\n");
        s.step_ = Step::Quit;
      } else {
        send_all(s, "RETR " + std::to_string(s.list_[0].first) + "\r\n");
        s.step_ = Step::Retr;
      }
      break;
    }
    case Step::Retr: {
      long got = unstuffed_payload(body);
      if (got != s.list_[s.next_].second)
        fail(s.user_ + ": RETR " + std::to_string(s.list_[s.next_].first) + " gave " +
             std::to_string(got) + " octets, LIST said " + std::to_string(s.list_[s.next_].second));
      s.octets_ += got;
      ++retrs;
      if (++s.next_ < s.list_.size()) {
        send_all(s, "RETR " + std::to_string(s.list_[s.next_].first) + "\r\n");
      } else {
        send_all(s, "QUIT\r\n");
        s.step_ = Step::Quit;
      }
      break;
    }
    case Step::Quit:
      s.step_ = Step::Done;
      ::close(s.fd_);
      s.fd_ = -1;
      return false;
    case Step::Done:
      break;
  }
  s.buf_.clear();
  return true;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: pop3_load PORT PASSWORD EXPECT USER...\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string password = argv[2];
  const long expect = std::atol(argv[3]);
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();

  int ep = epoll_create1(0);
  std::vector<Session> sessions(static_cast<size_t>(argc - 4));
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session& s = sessions[i];
    s.user_ = argv[4 + i];
    s.buf_.reserve(64 * 1024);
    s.fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      fail(s.user_ + ": connect: " + std::strerror(errno));
    int one = 1;
    setsockopt(s.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(s.fd_, F_SETFL, fcntl(s.fd_, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, s.fd_, &ev);
  }

  long retrs = 0;
  size_t open = sessions.size();
  std::vector<epoll_event> events(sessions.size());
  std::vector<char> chunk(256 * 1024);
  while (open > 0) {
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(300)) fail("timed out after 300 s");
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) fail(std::string("epoll_wait: ") + std::strerror(errno));
    for (int k = 0; k < n; ++k) {
      Session& s = sessions[events[k].data.u64];
      if (s.fd_ < 0) continue;
      for (;;) {
        ssize_t r = ::recv(s.fd_, chunk.data(), chunk.size(), 0);
        if (r < 0) {
          if (errno == EAGAIN) break;
          if (errno == EINTR) continue;
          fail(s.user_ + ": recv: " + std::strerror(errno));
        }
        if (r == 0) fail(s.user_ + ": connection closed by the server");
        s.buf_.append(chunk.data(), static_cast<size_t>(r));
        if (reply_complete(s)) {
          if (!advance(s, password, expect, retrs)) {
            --open;
            break;
          }
        }
      }
    }
  }
  long octets = 0;
  for (const Session& s : sessions) octets += s.octets_;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("retrs=%ld octets=%ld wall_s=%.6f client_cpu_s=%.6f\n", retrs, octets, wall,
              cpu_seconds() - cpu0);
  return 0;
}
