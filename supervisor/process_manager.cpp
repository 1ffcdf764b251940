#include "process_manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace tern::supervisor {

namespace {

using Clock = std::chrono::steady_clock;

sigset_t handled_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGHUP);
  return s;
}

// Writes "<pid>\n" atomically (temp file + rename), so `ternctl status` never reads half.
void write_pid_file(const std::filesystem::path& file, pid_t pid) {
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << '\n';
    if (!out) {
      spdlog::warn("cannot write {}", tmp.string());
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) spdlog::warn("cannot write {}: {}", file.string(), ec.message());
}

void write_all(int fd, const char* s) {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

ProcessManager::ProcessManager(std::vector<DaemonSpec> daemons, std::filesystem::path run_dir,
                               std::optional<RunAs> run_as, std::chrono::seconds stop_grace)
    : run_dir_(std::move(run_dir)), run_as_(std::move(run_as)), stop_grace_(stop_grace) {
  for (auto& d : daemons) {
    Child c;
    c.spec = std::move(d);
    children_.push_back(std::move(c));
  }
}

ProcessManager::~ProcessManager() {
  if (sigfd_ >= 0) ::close(sigfd_);
  for (auto& c : children_) close_all(c.spec.sockets);
}

void ProcessManager::block_signals() {
  sigset_t s = handled_signals();
  if (sigprocmask(SIG_BLOCK, &s, nullptr) != 0)
    throw std::runtime_error(std::string("sigprocmask: ") + std::strerror(errno));
  sigfd_ = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd_ < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
}

std::filesystem::path ProcessManager::pid_file(const Child& c) const {
  return run_dir_ / (c.spec.name + ".pid");
}

void ProcessManager::start(Child& c) {
  // Everything the child needs is built before fork: after fork only async-signal-safe calls.
  std::vector<std::string> argv_s{c.spec.binary.string()};
  argv_s.insert(argv_s.end(), c.spec.args.begin(), c.spec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "TERN_LISTEN_FDS=", 16) != 0) env_s.emplace_back(*e);
  const int nsock = static_cast<int>(c.spec.sockets.size());
  if (nsock > 0) {
    std::string v = "TERN_LISTEN_FDS=";
    for (int i = 0; i < nsock; ++i) {
      if (i) v += ',';
      v += c.spec.sockets[i].endpoint + "=" + std::to_string(3 + i);
    }
    env_s.push_back(std::move(v));
  }
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<int> fds;
  for (auto& s : c.spec.sockets) fds.push_back(s.fd);
  const pid_t parent = ::getpid();
  const std::string exec_error = "tern: cannot exec " + argv_s[0] + ": ";
  const std::string drop_error = "tern: cannot switch to user " + (run_as_ ? run_as_->name : "") + ": ";

  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("{}: fork failed: {}; retrying in 1s", c.spec.name, std::strerror(errno));
    c.next_start = Clock::now() + std::chrono::seconds(1);
    return;
  }
  if (pid == 0) {
    // Own process group: a terminal's Ctrl-C reaches only tern, which then stops the
    // daemons in order (SIGTERM, grace period, SIGKILL).
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // SIGHUP means "reload" here, never "die": ignored until the daemon installs its
    // handler (a disposition of SIG_IGN survives exec; sigaction replaces it), so a
    // SIGHUP forwarded during a daemon's start-up does not kill it.
    ::signal(SIGHUP, SIG_IGN);
    // Inherited listeners go to fds 3.. (first moved above that range so dup2 clobbers none).
    for (int i = 0; i < nsock; ++i) fds[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + nsock);
    for (int i = 0; i < nsock; ++i) ::dup2(fds[i], 3 + i);  // dup2 clears close-on-exec
    ::close_range(3 + nsock, ~0U, 0);
    if (run_as_ && !drop_privileges(*run_as_)) {
      write_all(2, drop_error.c_str());
      write_all(2, std::strerror(errno));
      write_all(2, "\n");
      ::_exit(126);
    }
    // The kernel clears the parent-death signal on a credential change, so set it after
    // the drop: if tern is SIGKILLed the daemons still get SIGTERM.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    ::execve(argv[0], argv.data(), envp.data());
    write_all(2, exec_error.c_str());
    write_all(2, std::strerror(errno));
    write_all(2, "\n");
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so signal_all() can't race the child's own setpgid
  c.pid = pid;
  c.started = Clock::now();
  write_pid_file(pid_file(c), pid);
  spdlog::info("{} started (pid {})", c.spec.name, pid);
}

void ProcessManager::on_exit(pid_t pid, int status) {
  for (auto& c : children_) {
    if (c.pid != pid) continue;
    c.pid = 0;
    std::error_code ec;
    std::filesystem::remove(pid_file(c), ec);
    std::string how = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
    if (stopping_) {
      spdlog::info("{} (pid {}) stopped: {}", c.spec.name, pid, how);
      return;
    }
    auto delay = c.backoff.on_exit(Clock::now() - c.started);
    c.next_start = Clock::now() + delay;
    spdlog::warn("{} (pid {}) {}; restarting in {}s", c.spec.name, pid, how, delay.count());
    return;
  }
}

void ProcessManager::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    on_exit(pid, status);
  }
}

void ProcessManager::signal_all(int sig) {
  // The whole process group: helpers a daemon forked go too.
  for (auto& c : children_)
    if (c.pid > 0 && ::kill(-c.pid, sig) != 0) ::kill(c.pid, sig);
}

void ProcessManager::begin_stop(int sig) {
  stopping_ = true;
  stop_deadline_ = Clock::now() + stop_grace_;
  spdlog::info("SIG{}: stopping the daemons (SIGTERM, SIGKILL after {}s)", sigabbrev_np(sig),
               stop_grace_.count());
  signal_all(SIGTERM);
}

int ProcessManager::run() {
  if (sigfd_ < 0) block_signals();
  for (auto& c : children_) start(c);
  for (;;) {
    auto now = Clock::now();
    bool alive = false;
    for (auto& c : children_) alive |= c.pid > 0;
    if (stopping_ && !alive) break;

    // Start what is due, and work out how long to sleep.
    std::optional<Clock::time_point> wake;
    if (stopping_) {
      if (now >= stop_deadline_ && !killed_) {
        for (auto& c : children_)
          if (c.pid > 0) spdlog::warn("{} (pid {}) did not stop in {}s; sending SIGKILL", c.spec.name, c.pid,
                                      stop_grace_.count());
        signal_all(SIGKILL);
        killed_ = true;
      }
      if (!killed_) wake = stop_deadline_;
    } else {
      for (auto& c : children_) {
        if (c.pid > 0) continue;
        if (c.next_start <= now) start(c);
        if (c.pid == 0 && (!wake || c.next_start < *wake)) wake = c.next_start;
      }
    }
    int timeout = -1;
    if (wake) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*wake - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(ms + 1, 0, 60'000));
    }
    pollfd p{sigfd_, POLLIN, 0};
    int n = ::poll(&p, 1, timeout);
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    signalfd_siginfo si{};
    while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      switch (si.ssi_signo) {
        case SIGCHLD:
          break;  // reaped below
        case SIGTERM:
        case SIGINT:
          if (!stopping_) {
            begin_stop(static_cast<int>(si.ssi_signo));
          } else if (si.ssi_signo == SIGINT && !killed_) {
            // A second Ctrl-C: don't wait for the grace period.
            spdlog::warn("second SIGINT: sending SIGKILL");
            signal_all(SIGKILL);
            killed_ = true;
          }
          break;
        case SIGHUP:
          if (auto error = reload_check_ ? reload_check_() : std::string(); !error.empty()) {
            spdlog::error("SIGHUP: {}; the daemons keep their current config", error);
          } else {
            spdlog::info("SIGHUP: asking the daemons to reload");
            signal_all(SIGHUP);
          }
          break;
        default:
          break;
      }
    }
    reap();
  }
  for (auto& c : children_) close_all(c.spec.sockets);
  spdlog::info("all daemons stopped");
  return 0;
}

}  // namespace tern::supervisor
