#pragma once
// The supervisor's loop: starts the daemons, writes their pid files, restarts one that
// dies (with Backoff and a log line), forwards SIGHUP, and on SIGTERM/SIGINT stops them
// all (SIGTERM, then SIGKILL after the grace period). Single-threaded; signals arrive
// through a signalfd.
#include "backoff.hpp"
#include "listeners.hpp"
#include "privileges.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tern::supervisor {

struct DaemonSpec {
  std::string name;                 // "tern-mta"
  std::filesystem::path binary;     // absolute path
  std::vector<std::string> args;    // after argv[0], e.g. {"--config", "/etc/tern.toml"}
  std::vector<BoundSocket> sockets; // inherited as fds 3, 4, ... (root mode only)
};

class ProcessManager {
 public:
  // `run_dir` receives <name>.pid files; `run_as` set = drop to that user in each child.
  ProcessManager(std::vector<DaemonSpec> daemons, std::filesystem::path run_dir,
                 std::optional<RunAs> run_as,
                 std::chrono::seconds stop_grace = std::chrono::seconds(10));
  ~ProcessManager();

  // Blocks SIGCHLD SIGTERM SIGINT SIGHUP for the calling thread and opens the signalfd.
  // Call before anything forks. Throws std::runtime_error.
  void block_signals();

  // Called on SIGHUP before it is forwarded: returns "" if the config is valid, else the
  // error (then the daemons keep their current config and are not signalled).
  void set_reload_check(std::function<std::string()> check) { reload_check_ = std::move(check); }

  // Runs until SIGTERM/SIGINT and every daemon has stopped. Returns the exit code (0).
  int run();

 private:
  struct Child {
    DaemonSpec spec;
    pid_t pid = 0;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point next_start{};  // when pid == 0
    Backoff backoff;
  };

  void start(Child& c);
  void on_exit(pid_t pid, int status);
  void reap();
  void signal_all(int sig);
  void begin_stop(int sig);
  std::filesystem::path pid_file(const Child& c) const;

  std::vector<Child> children_;
  std::filesystem::path run_dir_;
  std::optional<RunAs> run_as_;
  std::chrono::seconds stop_grace_;
  std::function<std::string()> reload_check_;
  int sigfd_ = -1;
  bool stopping_ = false;
  bool killed_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};
};

}  // namespace tern::supervisor
