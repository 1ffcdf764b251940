#pragma once
// TestUnbound: a private unbound daemon on 127.0.0.1:<free port> serving the given
// zones authoritatively (auth-zone), for resolver tests. Names outside the zones
// are REFUSED. Killed (SIGKILL, reaped) and its temp dir removed by the destructor.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

namespace tern::test {

inline std::uint16_t free_loopback_port(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

class TestUnbound {
 public:
  // zones: name ("remote.test.") -> zone file text.
  explicit TestUnbound(const std::map<std::string, std::string>& zones) {
    char tmpl[] = "/tmp/tern-dns-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    port_ = free_loopback_port(SOCK_STREAM);
    std::ofstream conf(dir_ / "unbound.conf");
    conf << "server:\n"
         << "  interface: 127.0.0.1@" << port_ << "\n"
         << "  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n"
         << "  directory: \"" << dir_.string() << "\"\n  pidfile: \"\"\n"
         << "  use-syslog: no\n  logfile: \"" << (dir_ / "unbound.log").string() << "\"\n"
         << "  module-config: \"iterator\"\n  do-not-query-localhost: no\n"
         << "  access-control: 127.0.0.0/8 allow\n  num-threads: 1\n"
         << "  local-zone: \"test.\" nodefault\n"
         << "  local-zone: \"2.0.192.in-addr.arpa.\" nodefault\n"
         << "  local-zone: \".\" refuse\n";
    for (const auto& [name, text] : zones) {
      conf << "  local-zone: \"" << name << "\" transparent\n";
    }
    int i = 0;
    for (const auto& [name, text] : zones) {
      auto file = dir_ / ("zone" + std::to_string(i++));
      std::ofstream(file) << text;
      conf << "auth-zone:\n  name: \"" << name << "\"\n  zonefile: \"" << file.string()
           << "\"\n  for-downstream: yes\n  for-upstream: no\n  fallback-enabled: no\n";
    }
    conf.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      std::string c = (dir_ / "unbound.conf").string();
      ::execlp("unbound", "unbound", "-d", "-c", c.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready once it accepts TCP on its port.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sa.sin_port = htons(port_);
      int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      ::close(fd);
      if (rc == 0) return;
      int st;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("unbound exited at start; see " + (dir_ / "unbound.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("unbound did not start");
  }
  ~TestUnbound() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!std::getenv("TERN_KEEP")) std::filesystem::remove_all(dir_, ec);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tern::test
