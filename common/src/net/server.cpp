// Server: listeners, caps, sessions, TLS reload, signals; see tern/net/server.hpp.
//
// Threads: io_contexts_[0] runs on the thread that calls run() and owns the
// acceptors, the signal set and the shutdown sequence; every io_context (0
// included) takes accepted sockets round-robin and runs their sessions. A session
// never changes thread, so ConnectionImpl needs no locking; what is shared across
// threads (caps, the live-session registry, the stopping flag) is under a mutex
// or atomic.
#include "tern/net/server.hpp"
#include "tern/util/fd_limit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "connection_impl.hpp"
#include "tern/net/listen_fds.hpp"
#include "tern/log/assert.hpp"
#include "tern/net/tls.hpp"
#include "tern/util/ip_prefix.hpp"

namespace tern::net {

using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);  // after EMFILE & co
constexpr auto kRefuseWriteTimeout = std::chrono::seconds(5);
constexpr auto kMaxHandshake = std::chrono::seconds(30);
constexpr auto kAbortWait = std::chrono::seconds(3);  // after closing leftover sessions
constexpr auto kPoll = std::chrono::milliseconds(20);

enum class Admit { Ok, Total, PerIp };

// One listener (all its endpoints): options, acceptors and the connection caps.
struct ListenerState {
  ListenerOptions opts;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // on io_contexts_[0]
  std::vector<config::Endpoint> bound;

  std::mutex mu;
  unsigned total = 0;
  unsigned ipv6_prefix = 64;  // [limits] ipv6_prefix: IPv6 clients count per /N
  std::unordered_map<std::string, unsigned> per_ip;

  Admit admit(const std::string& addr) {
    const std::string ip = util::ip_limit_key(addr, ipv6_prefix);
    std::lock_guard lock(mu);
    if (total >= opts.max_connections) return Admit::Total;
    unsigned& n = per_ip[ip];
    if (n >= opts.max_per_ip) {
      if (n == 0) per_ip.erase(ip);
      return Admit::PerIp;
    }
    ++n;
    ++total;
    return Admit::Ok;
  }
  void release(const std::string& addr) {
    const std::string ip = util::ip_limit_key(addr, ipv6_prefix);
    std::lock_guard lock(mu);
    --total;
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
};

// Bugs abort, loudly (issue 18): an exception that can only come from a bug in tern
// (log::is_internal_error: a std::logic_error such as a broken precondition or an index
// out of range, a bad_optional_access ...; or something that is not a std::exception at
// all) ends the process with the message on stderr, as a failed
// TERN_ASSERT does, and the supervisor restarts the daemon. Peer and I/O errors never
// arrive here as exceptions (Connection reports them as ReadStatus / false), and the
// environment's (std::system_error, std::bad_alloc, a store runtime_error) end only the
// session, logged.
[[noreturn]] void internal_error(const char* where) {
  log::internal_error(where, "an exception that is not a std::exception");
}

// co_spawn completion: never `detached`, which would swallow the exception.
struct LogException {
  const char* what;
  void operator()(std::exception_ptr ep) const {
    if (!ep) return;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      if (log::is_internal_error(e)) log::internal_error(what, e.what());
      spdlog::error("- {}: uncaught exception: {}", what, e.what());
    } catch (...) {
      internal_error(what);
    }
  }
};

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string a = ep.address().to_string();
  if (ep.address().is_v6()) return "[" + a + "]:" + std::to_string(ep.port());
  return a + ":" + std::to_string(ep.port());
}

void set_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

}  // namespace

struct Server::Impl {
  Impl(Server& s, const config::Config& c, unsigned threads)
      : self(s), cfg(c), nthreads(threads), pool(std::max(2u, threads)) {
    for (unsigned i = 0; i < nthreads; ++i)
      ctxs.push_back(std::make_unique<asio::io_context>(1));
  }

  ~Impl() {
    // Order matters: blocking tasks hold work on the io_contexts; I/O objects
    // must die before their io_context; pending session frames (destroyed with
    // their io_context) still use the members below, so they go first.
    pool.stop();
    pool.join();
    signals.reset();
    for (auto& ls : listeners) ls->acceptors.clear();
    for (auto& c : ctxs) c.reset();  // [0] first: its queued accepts own sockets of others
  }

  asio::io_context& next_context() {
    return *ctxs[next.fetch_add(1, std::memory_order_relaxed) % ctxs.size()];
  }

  void register_conn(const std::shared_ptr<ConnectionImpl>& c) {
    std::lock_guard lock(live_mu);
    live[c.get()] = c;
  }
  void unregister_conn(ConnectionImpl* c) {
    std::lock_guard lock(live_mu);
    live.erase(c);
  }

  // Close every live connection on its own thread.
  void abort_all() {
    std::lock_guard lock(live_mu);
    for (auto& [p, weak] : live) {
      if (auto c = weak.lock()) {
        asio::post(c->io_executor(), [c] { c->abort(); });
      }
    }
  }

  // Wake every parked session on its own thread: it sees stopping() and says goodbye
  // now instead of being cut off after the grace period.
  void wake_parked_all() {
    std::lock_guard lock(live_mu);
    for (auto& [p, weak] : live) {
      if (auto c = weak.lock()) {
        asio::post(c->io_executor(), [c] { c->wake_parked(); });
      }
    }
  }

  // Runs on ctxs[0].
  void begin_shutdown() {
    if (stopping.exchange(true)) return;
    spdlog::info("- shutting down: {} session(s) open, grace {}s", sessions.load(),
                 grace.count());
    boost::system::error_code ec;
    for (auto& ls : listeners)
      for (auto& acc : ls->acceptors) acc->close(ec);
    std::vector<std::function<void()>> copy;
    {
      std::lock_guard lock(hooks_mu);
      copy = shutdown_hooks;
    }
    for (auto& h : copy) {
      try {
        h();
      } catch (const std::exception& e) {
        spdlog::error("- shutdown hook failed: {}", e.what());
      }
    }
    wake_parked_all();
    asio::co_spawn(*ctxs[0], drain(this), LogException{"shutdown"});
  }

  // Runs on ctxs[0].
  void do_reload() {
    spdlog::info("- reload requested");
    tls->reload();
    std::vector<std::function<void()>> copy;
    {
      std::lock_guard lock(hooks_mu);
      copy = hooks;
    }
    for (auto& h : copy) {
      try {
        h();
      } catch (const std::exception& e) {
        spdlog::error("- reload hook failed: {}", e.what());
      }
    }
  }

  static asio::awaitable<void> drain(Impl* impl) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + impl->grace;
    while (impl->sessions.load() > 0 && Clock::now() < deadline) {
      t.expires_after(kPoll);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (auto n = impl->sessions.load(); n > 0) {
      spdlog::info("- shutdown: closing {} session(s) still open after the grace period", n);
      impl->abort_all();
      const auto hard = Clock::now() + kAbortWait;
      while (impl->sessions.load() > 0 && Clock::now() < hard) {
        t.expires_after(kPoll);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    spdlog::info("- shutdown complete");
    if (impl->signals) {
      boost::system::error_code ec;
      impl->signals->cancel(ec);
    }
    for (auto& c : impl->ctxs) c->stop();
  }

  static asio::awaitable<void> signal_loop(Impl* impl) {
    for (;;) {
      auto [ec, sig] = co_await impl->signals->async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (sig == SIGHUP) {
        impl->do_reload();
      } else {
        spdlog::info("- signal {} received", sig == SIGTERM ? "TERM" : "INT");
        impl->begin_shutdown();
      }
    }
  }

  // Holds a connection's place in its listener's caps and in the session count;
  // a parameter of serve() so it is released even if the frame never runs.
  struct Admission {
    Impl* impl = nullptr;
    std::shared_ptr<ListenerState> ls;
    std::string ip;
    Admission(Impl* i, std::shared_ptr<ListenerState> l, std::string a)
        : impl(i), ls(std::move(l)), ip(std::move(a)) {
      impl->sessions.fetch_add(1);
    }
    Admission(Admission&& o) noexcept
        : impl(std::exchange(o.impl, nullptr)), ls(std::move(o.ls)), ip(std::move(o.ip)) {}
    Admission& operator=(Admission&&) = delete;
    ~Admission() {
      if (!impl) return;
      ls->release(ip);
      impl->sessions.fetch_sub(1);
    }
  };

  // What a session holds from accept to disconnect, also while it is parked
  // (Connection::park: no coroutine frame then, the connection keeps this).
  struct Held {
    Admission adm;
    ConnectionImpl* conn;
    Clock::time_point start;
    Held(Admission a, ConnectionImpl* c) : adm(std::move(a)), conn(c), start(Clock::now()) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { adm.impl->unregister_conn(conn); }  // before adm releases its place
  };

  static void log_session_error(ConnectionImpl& conn, std::exception_ptr err) {
    try {
      std::rethrow_exception(err);
    } catch (const boost::system::system_error& e) {
      // An Asio operation awaited without as_tuple: I/O, not a bug; the session ends.
      spdlog::info("{} session ended by an i/o error: {}", conn.id(), e.what());
    } catch (const std::exception& e) {
      if (log::is_internal_error(e)) log::internal_error("session", e.what());
      spdlog::error("{} session error: {}", conn.id(), e.what());
    } catch (...) {
      internal_error("session");
    }
  }

  static asio::awaitable<void> serve(Impl* impl, Admission adm, tcp::socket sock,
                                     std::uint16_t port) {
    ListenerState& ls = *adm.ls;
    auto conn = std::make_shared<ConnectionImpl>(impl->self, impl->stopping, impl->pool,
                                                 std::move(sock), ls.opts.name, adm.ip, port,
                                                 impl->cfg.limits.command_timeout);
    impl->register_conn(conn);
    auto held = std::make_shared<Held>(std::move(adm), conn.get());

    spdlog::info("{} connect listener={} peer={}", conn->id(), ls.opts.name, conn->peer_text());
    bool ok = true;
    if (ls.opts.implicit_tls) {
      auto hs = std::min<Clock::duration>(impl->cfg.limits.command_timeout, kMaxHandshake);
      ok = co_await conn->handshake(hs);
    }
    if (ok && ls.opts.session) {
      std::exception_ptr err;
      try {
        co_await ls.opts.session(*conn);
      } catch (...) {
        err = std::current_exception();
      }
      bool parked = handler_returned(held, *conn, err);
      if (parked) co_return;
    }
    co_await finish(*held, *conn);
  }

  // The session handler (or a resume) returned, maybe by throwing `err`: true when it
  // parked, and the connection now keeps `held` until the park ends.
  static bool handler_returned(std::shared_ptr<Held>& held, ConnectionImpl& conn, std::exception_ptr err) {
    if (err) log_session_error(conn, err);
    if (!conn.parked()) return false;
    conn.hold(std::move(held), &unparked);
    return true;
  }

  // A parked session's wait ended (on its thread): continue it in a new coroutine.
  static void unparked(std::shared_ptr<ConnectionImpl> conn, std::shared_ptr<void> hold, ResumeFn fn,
                       ParkWake why) {
    auto held = std::static_pointer_cast<Held>(std::move(hold));
    auto ex = conn->io_executor();
    asio::co_spawn(ex, resumed(std::move(held), std::move(conn), std::move(fn), why), LogException{"session"});
  }

  static asio::awaitable<void> resumed(std::shared_ptr<Held> held, std::shared_ptr<ConnectionImpl> conn,
                                       ResumeFn fn, ParkWake why) {
    std::exception_ptr err;
    try {
      co_await fn(why);
    } catch (...) {
      err = std::current_exception();
    }
    bool parked = handler_returned(held, *conn, err);
    if (parked) co_return;
    co_await finish(*held, *conn);
  }

  static asio::awaitable<void> finish(Held& held, ConnectionImpl& conn) {
    co_await conn.close_gracefully();
    const double secs = std::chrono::duration<double>(Clock::now() - held.start).count();
    TlsInfo tls = conn.tls_info();
    spdlog::info("{} disconnect listener={} peer={} tls={}{}{} duration={:.3f}s{}{}", conn.id(),
                 conn.listener(), conn.peer_text(), tls.version.empty() ? "none" : tls.version,
                 tls.cipher.empty() ? "" : "/", tls.cipher, secs, conn.summary().empty() ? "" : " ",
                 conn.summary());
  }

  static asio::awaitable<void> refuse(tcp::socket sock, std::string reply) {
    if (!reply.empty()) {
      asio::steady_timer t(sock.get_executor());
      t.expires_after(kRefuseWriteTimeout);
      co_await (asio::async_write(sock, asio::buffer(reply), asio::as_tuple(asio::use_awaitable)) ||
                t.async_wait(asio::as_tuple(asio::use_awaitable)));
    }
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

  static asio::awaitable<void> accept_loop(Impl* impl, std::shared_ptr<ListenerState> ls,
                                           tcp::acceptor* acc) {
    asio::steady_timer backoff(acc->get_executor());
    const std::string where = ls->opts.name;
    while (!impl->stopping.load()) {
      asio::io_context& target = impl->next_context();
      auto [ec, sock] = co_await acc->async_accept(target, asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !acc->is_open() || impl->stopping.load()) break;
      if (ec) {
        // EMFILE/ENFILE/ENOBUFS: back off instead of spinning; the listener lives on.
        spdlog::warn("- accept on {}: {}", where, ec.message());
        backoff.expires_after(kAcceptBackoff);
        co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      boost::system::error_code rec;
      tcp::endpoint peer = sock.remote_endpoint(rec);
      if (rec) continue;  // gone already
      std::string ip = peer.address().to_string();
      Admit a = ls->admit(ip);
      if (a != Admit::Ok) {
        spdlog::warn("- limit listener={} peer={} reason={} max={}", where, endpoint_text(peer),
                     a == Admit::Total ? "connections" : "connections_per_ip",
                     a == Admit::Total ? ls->opts.max_connections : ls->opts.max_per_ip);
        // On an implicit-TLS port a plaintext reply would only confuse the client.
        std::string reply = ls->opts.implicit_tls ? std::string() : ls->opts.over_limit_reply;
        asio::co_spawn(target, refuse(std::move(sock), std::move(reply)),
                       LogException{"refuse"});
        continue;
      }
      asio::co_spawn(target,
                     serve(impl, Admission(impl, ls, std::move(ip)), std::move(sock), peer.port()),
                     LogException{"session"});
    }
  }

  Server& self;
  config::Config cfg;
  unsigned nthreads;
  std::atomic<bool> stopping{false};
  std::chrono::seconds grace{10};
  std::size_t fd_limit = 1024;  // RLIMIT_NOFILE soft, after raise_fd_limit()
  std::size_t fds_per_connection = util::kFdsPerConnection;
  std::unique_ptr<TlsContext> tls;
  std::mutex hooks_mu;
  std::vector<std::function<void()>> hooks;
  std::vector<std::function<void()>> shutdown_hooks;
  std::vector<std::shared_ptr<ListenerState>> listeners;  // changed only before run()
  std::mutex live_mu;
  std::unordered_map<ConnectionImpl*, std::weak_ptr<ConnectionImpl>> live;
  std::atomic<std::size_t> sessions{0};
  std::atomic<unsigned> next{0};
  std::unique_ptr<asio::signal_set> signals;  // on ctxs[0]
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  asio::thread_pool pool;
};

Server::Server(const config::Config& cfg, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // TLS writes go through OpenSSL's socket BIO (write(2), not send with MSG_NOSIGNAL as
  // Asio's own sockets): a peer that vanished must give EPIPE, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  impl_ = std::make_unique<Impl>(*this, cfg, threads);
  impl_->fd_limit = util::raise_fd_limit();
  impl_->tls = std::make_unique<TlsContext>(impl_->cfg);
  impl_->signals = std::make_unique<asio::signal_set>(*impl_->ctxs[0], SIGINT, SIGTERM, SIGHUP);
  asio::co_spawn(*impl_->ctxs[0], Impl::signal_loop(impl_.get()), LogException{"signals"});
}

Server::~Server() = default;

void Server::set_fds_per_connection(std::size_t n) { impl_->fds_per_connection = std::max<std::size_t>(1, n); }

void Server::add_listener(ListenerOptions opts) {
  auto ls = std::make_shared<ListenerState>();
  ls->opts = std::move(opts);
  ls->ipv6_prefix = impl_->cfg.limits.ipv6_prefix;
  {
    // Refuse at start rather than fail accepts or spool writes at the Nth connection.
    std::size_t most = ls->opts.max_connections;
    for (const auto& other : impl_->listeners) most = std::max<std::size_t>(most, other->opts.max_connections);
    if (auto problem = util::fd_budget_problem("", impl_->listeners.size() + 1, most, impl_->fd_limit,
                                                   impl_->fds_per_connection);
        !problem.empty())
      throw std::runtime_error(problem);
  }
  std::map<std::string, int> inherited;
  if (const char* env = std::getenv(kListenFdsEnv)) {
    std::string bad;
    inherited = parse_listen_fds(env, &bad);
    if (!bad.empty()) spdlog::warn("- {}: ignoring malformed entries: {}", kListenFdsEnv, bad);
  }
  asio::io_context& io0 = *impl_->ctxs[0];
  for (const config::Endpoint& ep : ls->opts.endpoints) {
    auto acc = std::make_unique<tcp::acceptor>(io0);
    const tcp protocol = ep.v6() ? tcp::v6() : tcp::v4();
    const std::string text = ep.text();
    boost::system::error_code ec;
    if (auto it = inherited.find(text); it != inherited.end()) {
      // Pre-bound by the supervisor (privileged port): adopt, don't bind.
      acc->assign(protocol, it->second, ec);
      if (ec)
        throw std::runtime_error("cannot use inherited fd " + std::to_string(it->second) +
                                 " for " + text + ": " + ec.message());
      set_cloexec(it->second);
      acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error("cannot listen on inherited " + text + ": " + ec.message());
    } else {
      auto addr = asio::ip::make_address(ep.host, ec);
      if (ec) throw std::runtime_error("bad listen address " + text + ": " + ec.message());
      acc->open(protocol, ec);
      if (ec) throw std::runtime_error("cannot open socket for " + text + ": " + ec.message());
      set_cloexec(acc->native_handle());
      acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (ep.v6()) acc->set_option(asio::ip::v6_only(true), ec);  // [::] must not take v4
      acc->bind(tcp::endpoint(addr, ep.port), ec);
      if (ec) throw std::runtime_error("cannot bind " + text + ": " + ec.message());
      acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error("cannot listen on " + text + ": " + ec.message());
    }
    tcp::endpoint local = acc->local_endpoint(ec);
    if (ec) throw std::runtime_error("cannot read the address of " + text + ": " + ec.message());
    ls->bound.push_back(config::Endpoint{local.address().to_string(), local.port()});
    spdlog::info("- listening {} on {}", ls->opts.name, endpoint_text(local));
    ls->acceptors.push_back(std::move(acc));
  }
  for (auto& acc : ls->acceptors)
    asio::co_spawn(io0, Impl::accept_loop(impl_.get(), ls, acc.get()), LogException{"accept"});
  impl_->listeners.push_back(std::move(ls));
}

void Server::on_reload(std::function<void()> hook) {
  std::lock_guard lock(impl_->hooks_mu);
  impl_->hooks.push_back(std::move(hook));
}

void Server::on_shutdown(std::function<void()> hook) {
  std::lock_guard lock(impl_->hooks_mu);
  impl_->shutdown_hooks.push_back(std::move(hook));
}

asio::io_context& Server::main_context() { return *impl_->ctxs[0]; }

void Server::set_shutdown_grace(std::chrono::seconds s) { impl_->grace = s; }

int Server::run() {
  auto& ctxs = impl_->ctxs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (auto& c : ctxs) work.emplace_back(c->get_executor());
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < ctxs.size(); ++i) {
    threads.emplace_back([c = ctxs[i].get()] {
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          if (log::is_internal_error(e)) log::internal_error("an io thread", e.what());
          // A handler threw (not a session: those are caught in serve()); log
          // and keep this thread serving its other sessions.
          spdlog::error("- io thread: {}", e.what());
        }
      }
    });
  }
  for (;;) {
    try {
      ctxs[0]->run();
      break;
    } catch (const std::exception& e) {
      if (log::is_internal_error(e)) log::internal_error("the main io thread", e.what());
      spdlog::error("- io thread: {}", e.what());
    }
  }
  for (auto& c : ctxs) c->stop();
  for (auto& t : threads) t.join();
  return 0;
}

void Server::stop() {
  Impl* impl = impl_.get();
  asio::post(*impl->ctxs[0], [impl] { impl->begin_shutdown(); });
}

void Server::reload() {
  Impl* impl = impl_.get();
  asio::post(*impl->ctxs[0], [impl] { impl->do_reload(); });
}

bool Server::stopping() const { return impl_->stopping.load(); }

std::size_t Server::session_count() const { return impl_->sessions.load(); }

std::vector<config::Endpoint> Server::bound_endpoints(const std::string& listener) const {
  for (const auto& ls : impl_->listeners)
    if (ls->opts.name == listener) return ls->bound;
  return {};
}

const config::Config& Server::config() const { return impl_->cfg; }
TlsContext& Server::tls() { return *impl_->tls; }
asio::thread_pool& Server::blocking_pool() { return impl_->pool; }

}  // namespace tern::net
