#pragma once
// The supervisor's loop: starts the daemons, writes their pid files, restarts one that
// dies (with Backoff and a log line), forwards SIGHUP (with fresh TLS credentials), and
// on SIGTERM/SIGINT stops them all (SIGTERM, then SIGKILL after the grace period).
// Single-threaded; signals arrive through a signalfd.
//
// Each start execs the daemon through an fd of its binary opened by tern (fexecve), so
// the run user needs no path to it (a clone under /root works); the daemon inherits
// its listening sockets (TERN_LISTEN_FDS), one end of a TLS handoff socket
// (TERN_TLS_FD, tern/tls/handoff.hpp) and, when its user cannot read the config file,
// a sealed memfd copy of it (--config /proc/self/fd/N), and the failed-login table all
// daemons count in (TERN_THROTTLE_FD, tern/auth/throttle_table.hpp).
#include "backoff.hpp"
#include "listeners.hpp"
#include "privileges.hpp"
#include "safe_fs.hpp"
#include "tern/tls/credentials.hpp"

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
  std::filesystem::path binary;     // absolute path (opened by tern at each start)
  std::vector<std::string> args;    // after argv[0], e.g. {"--config", "/etc/tern.toml"}
  std::vector<BoundSocket> sockets; // inherited as fds 3, 4, ... (root mode only)
};

// How the daemons are launched, the same for every daemon.
struct Launch {
  int chdir_fd = -1;                       // >= 0: the child fchdir()s here (data_dir) first
  std::vector<std::string> env;            // extra "NAME=value" (TERN_DATA_DIR, TERN_DATA_DIR_NAME)
  std::optional<std::string> config_text;  // set: handed over as a memfd
  tls::Credentials tls;                    // sent on TERN_TLS_FD at start
  Fd throttle;                             // set: the shared failed-login table (TERN_THROTTLE_FD)
};

// What a SIGHUP does: `error` set = the config is bad, nothing is forwarded; else the
// daemons get `tls` (when set) and then SIGHUP.
struct Reload {
  std::string error;
  std::optional<tls::Credentials> tls;
};

class ProcessManager {
 public:
  // `run_dir` (an fd of the root-owned data_dir/run) receives <name>.pid files;
  // `run_as` set = drop to that user in each child.
  ProcessManager(std::vector<DaemonSpec> daemons, Fd run_dir, std::optional<RunAs> run_as, Launch launch,
                 std::chrono::seconds stop_grace = std::chrono::seconds(10));
  ~ProcessManager();

  // Blocks SIGCHLD SIGTERM SIGINT SIGHUP for the calling thread and opens the signalfd.
  // Call before anything forks. Throws std::runtime_error.
  void block_signals();

  // Called on SIGHUP before anything is forwarded.
  void set_reload(std::function<Reload()> f) { reload_ = std::move(f); }

  // Runs until SIGTERM/SIGINT and every daemon has stopped. Returns the exit code (0).
  int run();

  // The run dir fd (tern.pid lives there too).
  int run_dir() const { return run_dir_.get(); }

 private:
  struct Child {
    DaemonSpec spec;
    pid_t pid = 0;
    Fd tls;  // our end of its handoff socket
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point next_start{};  // when pid == 0
    Backoff backoff;
  };

  void start(Child& c);
  void on_exit(pid_t pid, int status);
  void reap();
  void signal_all(int sig);
  void begin_stop(int sig);
  void on_sighup();

  std::vector<Child> children_;
  Fd run_dir_;
  std::optional<RunAs> run_as_;
  Launch launch_;
  Fd config_memfd_;
  std::chrono::seconds stop_grace_;
  std::function<Reload()> reload_;
  int sigfd_ = -1;
  bool stopping_ = false;
  bool killed_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};
};

}  // namespace tern::supervisor
