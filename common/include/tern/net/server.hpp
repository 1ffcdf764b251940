#pragma once
// Server: listeners, connection caps, TLS, signals and the blocking pool of one daemon.
// One io_context per thread (threads = cores by default); accepted sockets are handed
// round-robin; each session coroutine lives on one thread for its whole life.
//   SIGTERM/SIGINT: stop accepting, mark connections stopping, wait for sessions to end
//                   up to `shutdown_grace`, then close what is left; run() returns.
//   SIGHUP:         reload the TLS certificate/key and call the reload hooks.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tern/config/config.hpp"
#include "tern/net/connection.hpp"

namespace tern::net {

class TlsContext;

using SessionFn = std::function<asio::awaitable<void>(Connection&)>;

struct ListenerOptions {
  std::string name;                         // "smtp", "submission", "pop3s", ...
  std::vector<config::Endpoint> endpoints;  // from the config
  bool implicit_tls = false;                // TLS handshake right after accept
  unsigned max_connections = 1000;          // [limits] connections
  unsigned max_per_ip = 20;                 // [limits] connections_per_ip
  std::string over_limit_reply;             // sent then close, e.g. "421 4.7.0 ...\r\n"
  SessionFn session;                        // the protocol driver
};

class Server {
 public:
  // Makes the TLS context from cfg.tls (or the self-signed pair in data_dir/tls).
  explicit Server(const config::Config& cfg, unsigned threads = 0);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Descriptors one connection may hold (util::fds_per_connection of the daemon; 2 by
  // default): add_listener refuses listeners whose caps cannot fit under RLIMIT_NOFILE.
  // Call before add_listener.
  void set_fds_per_connection(std::size_t n);
  // Binds now (throws std::runtime_error naming the address on failure).
  void add_listener(ListenerOptions opts);
  void on_reload(std::function<void()> hook);
  // Called on the server's first thread when shutdown begins (SIGTERM), before the
  // sessions are waited for: wake what sessions wait on (ChangeNotifier::stop).
  void on_shutdown(std::function<void()> hook);
  // The first io_context (run() runs it on the calling thread): for one process-wide
  // loop such as the ChangeNotifier's.
  asio::io_context& main_context();
  // How long sessions may run on after SIGTERM before they are closed (default 10 s).
  void set_shutdown_grace(std::chrono::seconds s);

  // Runs until SIGTERM/SIGINT (or stop()); returns the process exit code.
  int run();
  // Thread-safe; may be called before run() (run() then shuts down at once).
  void stop();
  // What SIGHUP does: reload the TLS certificate/key, then call the reload hooks
  // (on the server's first thread). Thread-safe.
  void reload();
  // True once shutdown has begun.
  bool stopping() const;
  // Sessions currently admitted (all listeners); for metrics and tests.
  std::size_t session_count() const;

  // The addresses a listener is bound to (port 0 in the config resolved to the
  // real port; tests use this). Empty for an unknown name.
  std::vector<config::Endpoint> bound_endpoints(const std::string& listener) const;

  const config::Config& config() const;
  TlsContext& tls();
  asio::thread_pool& blocking_pool();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
