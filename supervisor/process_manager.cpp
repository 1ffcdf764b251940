#include "process_manager.hpp"

#include "notify.hpp"
#include "tern/auth/throttle_table.hpp"
#include "tern/tls/handoff.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
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

ProcessManager::ProcessManager(std::vector<DaemonSpec> daemons, Fd run_dir, std::optional<RunAs> run_as,
                               Launch launch, std::chrono::seconds stop_grace)
    : run_dir_(std::move(run_dir)), run_as_(std::move(run_as)), launch_(std::move(launch)), stop_grace_(stop_grace) {
  for (auto& d : daemons) {
    Child c;
    c.spec = std::move(d);
    children_.push_back(std::move(c));
  }
  if (launch_.config_text) {
    // Sealed: no daemon can change what the others read.
    config_memfd_ = Fd(::memfd_create("tern.toml", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!config_memfd_) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
    const std::string& t = *launch_.config_text;
    if (::write(config_memfd_.get(), t.data(), t.size()) != static_cast<ssize_t>(t.size()) ||
        ::fcntl(config_memfd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
      throw std::runtime_error(std::string("cannot fill the config memfd: ") + std::strerror(errno));
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

void ProcessManager::start(Child& c) {
  auto retry_later = [&](const std::string& why) {
    spdlog::error("{}: {}; retrying in 1s", c.spec.name, why);
    c.next_start = Clock::now() + std::chrono::seconds(1);
  };
  // The binary, opened by tern (as root: no path permission asked of the run user).
  Fd exe(::open(c.spec.binary.c_str(), O_RDONLY | O_CLOEXEC));
  if (!exe) return retry_later("cannot open " + c.spec.binary.string() + ": " + std::strerror(errno));
  int pair[2];
  if (!tls::make_handoff_pair(pair)) return retry_later(std::string("socketpair: ") + std::strerror(errno));
  Fd ours(pair[0]), theirs(pair[1]);
  if (auto err = tls::send_credentials(ours.get(), launch_.tls); !err.empty())
    return retry_later("cannot pass the TLS certificate: " + err);

  // Inherited fds, in order from 3: listeners, the TLS socket, the config memfd, the
  // throttle table.
  std::vector<int> inherit;
  for (auto& s : c.spec.sockets) inherit.push_back(s.fd);
  const int nsock = static_cast<int>(inherit.size());
  const int tls_fd = 3 + static_cast<int>(inherit.size());
  inherit.push_back(theirs.get());
  int config_fd = -1;
  if (config_memfd_) {
    config_fd = 3 + static_cast<int>(inherit.size());
    inherit.push_back(config_memfd_.get());
  }
  int throttle_fd = -1;
  if (launch_.throttle) {
    throttle_fd = 3 + static_cast<int>(inherit.size());
    inherit.push_back(launch_.throttle.get());
  }
  const int ninherit = static_cast<int>(inherit.size());
  const int exe_slot = 3 + ninherit;  // close-on-exec: fexecve needs it, the daemon not
  std::vector<int> moved(inherit);
  moved.push_back(exe.get());
  if (launch_.chdir_fd >= 0) moved.push_back(launch_.chdir_fd);

  // Everything the child needs is built before fork: after fork only async-signal-safe calls.
  std::vector<std::string> argv_s{c.spec.binary.string()};
  if (config_fd >= 0) {
    argv_s.push_back("--config");
    argv_s.push_back("/proc/self/fd/" + std::to_string(config_fd));
  } else {
    argv_s.insert(argv_s.end(), c.spec.args.begin(), c.spec.args.end());
  }
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  auto ours_var = [](const char* e) {
    // systemd's notify/watchdog variables are tern's alone (NotifyAccess=main).
    for (const char* n : {"TERN_LISTEN_FDS=", "TERN_TLS_FD=", "TERN_DATA_DIR=", "TERN_DATA_DIR_NAME=", "TERN_THROTTLE_FD=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
                          "WATCHDOG_PID="})
      if (std::strncmp(e, n, std::strlen(n)) == 0) return true;
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!ours_var(*e)) env_s.emplace_back(*e);
  if (nsock > 0) {
    std::string v = "TERN_LISTEN_FDS=";
    for (int i = 0; i < nsock; ++i) {
      if (i) v += ',';
      v += c.spec.sockets[i].endpoint + "=" + std::to_string(3 + i);
    }
    env_s.push_back(std::move(v));
  }
  env_s.push_back(std::string(tls::kTlsFdEnv) + "=" + std::to_string(tls_fd));
  if (throttle_fd >= 0) env_s.push_back(std::string(auth::kThrottleFdEnv) + "=" + std::to_string(throttle_fd));
  for (auto& e : launch_.env) env_s.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const std::string exec_error = "tern: cannot exec " + argv_s[0] + ": ";
  const std::string drop_error = "tern: cannot switch to user " + (run_as_ ? run_as_->name : "") + ": ";
  const std::string chdir_error = "tern: cannot enter data_dir: ";
  const int nmoved = static_cast<int>(moved.size());
  const bool do_chdir = launch_.chdir_fd >= 0;

  pid_t pid = ::fork();
  if (pid < 0) return retry_later(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    auto die = [](const std::string& what, int code) {
      int e = errno;
      write_all(2, what.c_str());
      write_all(2, std::strerror(e));
      write_all(2, "\n");
      ::_exit(code);
    };
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
    // Move every fd we need above the target range, so dup2 clobbers none of them.
    for (int i = 0; i < nmoved; ++i) moved[i] = ::fcntl(moved[i], F_DUPFD_CLOEXEC, exe_slot + 1);
    for (int i = 0; i < ninherit; ++i) ::dup2(moved[i], 3 + i);  // dup2 clears close-on-exec
    ::dup3(moved[ninherit], exe_slot, O_CLOEXEC);
    // data_dir, opened by root: the daemon reaches it even if a parent is 0700.
    if (do_chdir && ::fchdir(moved[ninherit + 1]) != 0) die(chdir_error, 126);
    ::close_range(exe_slot + 1, ~0U, 0);
    if (run_as_ && !drop_privileges(*run_as_)) die(drop_error, 126);
    // The kernel clears the parent-death signal on a credential change, so set it after
    // the drop: if tern is SIGKILLed the daemons still get SIGTERM.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    ::fexecve(exe_slot, argv.data(), envp.data());
    die(exec_error, 127);
  }
  ::setpgid(pid, pid);  // also here, so signal_all() can't race the child's own setpgid
  c.pid = pid;
  c.tls = std::move(ours);
  c.started = Clock::now();
  if (auto err = write_file_at(run_dir_.get(), c.spec.name + ".pid", std::to_string(pid) + "\n", 0644);
      !err.empty())
    spdlog::warn("{}: pid file: {}", c.spec.name, err);
  spdlog::info("{} started (pid {})", c.spec.name, pid);
}

void ProcessManager::on_exit(pid_t pid, int status) {
  for (auto& c : children_) {
    if (c.pid != pid) continue;
    c.pid = 0;
    c.tls = Fd();
    ::unlinkat(run_dir_.get(), (c.spec.name + ".pid").c_str(), 0);
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

void ProcessManager::on_sighup() {
  Reload r = reload_ ? reload_() : Reload{};
  if (!r.error.empty()) {
    spdlog::error("SIGHUP: {}; the daemons keep their current config", r.error);
    return;
  }
  notify::reloading();
  if (r.tls) {
    launch_.tls = std::move(*r.tls);
    for (auto& c : children_) {
      if (c.pid <= 0 || !c.tls) continue;
      if (auto err = tls::send_credentials(c.tls.get(), launch_.tls); !err.empty())
        spdlog::error("SIGHUP: cannot pass the TLS certificate to {}: {}", c.spec.name, err);
    }
  }
  spdlog::info("SIGHUP: asking the daemons to reload");
  signal_all(SIGHUP);
  notify::ready("reloaded");
}

void ProcessManager::begin_stop(int sig) {
  notify::stopping();
  stopping_ = true;
  stop_deadline_ = Clock::now() + stop_grace_;
  spdlog::info("SIG{}: stopping the daemons (SIGTERM, SIGKILL after {}s)", sigabbrev_np(sig),
               stop_grace_.count());
  signal_all(SIGTERM);
}

int ProcessManager::run() {
  if (sigfd_ < 0) block_signals();
  for (auto& c : children_) start(c);
  // The listening sockets exist (bound by tern as root, or by each daemon at start).
  std::string names;
  for (auto& c : children_) names += (names.empty() ? "" : " ") + c.spec.name;
  notify::ready("running " + names);
  const auto watchdog = notify::watchdog_period();
  auto next_watchdog = Clock::now();
  for (;;) {
    auto now = Clock::now();
    if (watchdog && now >= next_watchdog) {
      notify::watchdog();
      next_watchdog = now + *watchdog;
    }
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
    if (watchdog && (!wake || next_watchdog < *wake)) wake = next_watchdog;
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
          on_sighup();
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
