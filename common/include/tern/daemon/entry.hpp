#pragma once
// The start-up every tern daemon shares (tern-mta, tern-pop3d, tern-imapd, tern-web): its
// main() only names itself and wires config -> store -> listeners (style.md "Layout").
//
//   int main(int argc, char** argv) {
//     return tern::daemon::run(argc, argv, kSpec, [](const config::Config& cfg) {
//       auto store = tern::store::open_for_daemon(cfg.data_dir);  // logged on failure
//       if (!store) return tern::daemon::kExitTempFail;
//       net::Server server(cfg);
//       server.add_listener(tern::daemon::listener(cfg, "pop3", ...));
//       return tern::daemon::serve(server, kSpec.name, cfg);
//     });
//   }
//
// run() does, in order: `--version` (wins over everything: prints version_line, exit 0),
// the arguments (`--config FILE`, `--config=FILE`, `--help`/`-h`; anything else: usage on
// stderr, exit 64), the config (load_config_or_default; an error: one line on stderr,
// exit 78), logging (log::init), the "nothing to serve" check (logged, exit 78), then
// body(cfg). An exception escaping body is logged as critical and exits 1, except a
// std::logic_error (a bug), which aborts (tern/log/assert.hpp) so the supervisor restarts
// the daemon with the message in its log.
//
// The TLS material from the supervisor (TERN_TLS_FD), the inherited listening sockets
// (TERN_LISTEN_FDS), RLIMIT_NOFILE and the signals (TERM/INT: graceful stop, HUP: reload)
// are net::Server's; privileges are dropped by the supervisor before exec.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/config/config.hpp"
#include "tern/net/server.hpp"

namespace tern::daemon {

// sysexits(3), as every tern binary uses them.
inline constexpr int kExitUsage = 64;     // EX_USAGE
inline constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: the store cannot be opened now
inline constexpr int kExitConfig = 78;    // EX_CONFIG

struct Spec {
  std::string_view name;   // "tern-pop3d": log tag, --version, messages
  std::string_view about;  // the --help lines after "usage: NAME [--config FILE]"
  // The config gives this daemon nothing to serve: the message to log (exit 78), else "".
  std::function<std::string(const config::Config&)> nothing_to_serve;
};

int run(int argc, char** argv, const Spec& spec, const std::function<int(const config::Config&)>& body);

// One listener's options from the config: endpoints, implicit TLS, the [limits]
// connection caps, the reply sent to a connection over a cap, the protocol driver.
net::ListenerOptions listener(const config::Config& cfg, std::string name,
                              std::vector<config::Endpoint> endpoints, bool implicit_tls,
                              std::string over_limit_reply, net::SessionFn session);

// The plain and the implicit-TLS listener of a protocol ([pop3] + [pop3s], [imap] +
// [imaps]): each that has a listen address is added with the same reply and driver.
void add_listener_pair(net::Server& server, const config::Config& cfg, std::string plain_name,
                       const config::Listener& plain, std::string tls_name, const config::Listener& tls,
                       const std::string& over_limit_reply, const net::SessionFn& session);

// The data_dir to name in log lines: TERN_DATA_DIR_NAME (set by tern with
// TERN_DATA_DIR=/proc/self/cwd) when present, else cfg.data_dir.
std::string data_dir_name(const config::Config& cfg);

// Logs "<version line> serving data_dir=..." (data_dir_name), runs the server until SIGTERM/SIGINT, logs
// "<name> stopped"; returns the server's exit code.
int serve(net::Server& server, std::string_view name, const config::Config& cfg);

}  // namespace tern::daemon
