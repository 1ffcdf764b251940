// tern-mta: config → log → store → authenticator → listeners → run (design §1, §4); the
// start-up is tern/daemon/entry.hpp's.
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "checks/inbound.hpp"
#include "connection.hpp"
#include "event_recorder.hpp"
#include "queue/worker.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/daemon/entry.hpp"
#include "tern/dns/resolver.hpp"
#include "tern/log/log.hpp"
#include "tern/net/server.hpp"
#include "tern/store/login_source.hpp"
#include "tern/store/open_for_daemon.hpp"
#include "tern/store/store.hpp"

namespace {

const tern::daemon::Spec kSpec{
    "tern-mta",
    "  Receives mail on [smtp], [submission] and [submissions], delivers it to the tern\n"
    "  store and sends the outbound queue. Without --config the embedded default (dev\n"
    "  mode) is used.\n",
    nullptr};

tern::net::ListenerOptions listener(const tern::config::Config& cfg, const char* name,
                                    const tern::config::Listener& l, bool implicit_tls,
                                    tern::mta::MtaContext& ctx, tern::mta::ListenerSetup setup) {
  // A plain function object (not a coroutine lambda): it returns the named coroutine's
  // awaitable, whose arguments are owned copies (ctx outlives the server).
  return tern::daemon::listener(
      cfg, name, l.listen, implicit_tls, "421 4.7.0 " + cfg.hostname + " Too many connections, try again later\r\n",
      [&ctx, setup](tern::net::Connection& c) { return tern::mta::serve_smtp(c, ctx, setup); });
}

int serve_mta(const tern::config::Config& cfg) {
  auto opened = tern::store::open_for_daemon(cfg.data_dir);
  if (!opened) return tern::daemon::kExitTempFail;
  tern::store::Store& store = *opened;

  // Spool files left by a crash belong to messages never acknowledged with 250: the
  // clients will retry them, so the files are garbage.
  {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(cfg.data_dir / "spool", ec))
      if (e.path().filename().string().rfind("msg-", 0) == 0) std::filesystem::remove(e.path(), ec);
  }

  tern::auth::Authenticator authenticator(tern::store::account_lookup(store),
                                          tern::store::authenticator_options(cfg, store, tern::auth::AuthService::Smtp));
  // Deliveries wait on fsync (group commit), not CPU: 16 threads let up to 16 sessions
  // share one commit. Password hashing stays on the server's (CPU-sized) blocking pool.
  asio::thread_pool delivery_pool(16);
  tern::mta::MtaContext ctx{cfg, store, authenticator, &delivery_pool};
  // Refusal events: batched commits on a thread of their own, capped per client IP.
  tern::mta::EventRecorder::Options ev_opt;
  ev_opt.flush_interval = cfg.store.events_flush;
  ev_opt.per_ip = cfg.store.events_per_ip;
  ev_opt.ipv6_prefix = cfg.limits.ipv6_prefix;
  tern::mta::EventRecorder recorder(store, ev_opt);
  ctx.events = &recorder;

  // The shared resolver runs its libunbound callbacks on a thread of its own; sessions on
  // every io thread await it ([checks]: SPF, DKIM, DMARC on the MX listener).
  asio::io_context dns_io;
  auto dns_work = asio::make_work_guard(dns_io);
  std::unique_ptr<tern::dns::Resolver> resolver;
  tern::mta::CheckCaches check_caches;  // outlives every session (declared before the Server)
  std::thread dns_thread;
  if (cfg.checks.enabled && cfg.smtp.smtp.enabled()) {
    try {
      resolver = std::make_unique<tern::dns::Resolver>(dns_io.get_executor(), cfg.dns);
    } catch (const std::exception& e) {
      spdlog::critical("tern-mta: DNS resolver: {}", e.what());
      return tern::daemon::kExitConfig;
    }
    dns_thread = std::thread([&dns_io] { dns_io.run(); });
    ctx.resolver = resolver.get();
    ctx.check_caches = &check_caches;
  }
  struct DnsStop {  // on every exit path: answer pending queries, then stop the thread
    std::unique_ptr<tern::dns::Resolver>& r;
    asio::io_context& io;
    asio::executor_work_guard<asio::io_context::executor_type>& w;
    std::thread& t;
    ~DnsStop() {
      if (r) r->shutdown();
      w.reset();
      io.stop();
      if (t.joinable()) t.join();
      r.reset();
    }
  } dns_stop{resolver, dns_io, dns_work, dns_thread};

  {
    tern::net::Server server(cfg);
    if (cfg.smtp.smtp.enabled())
      server.add_listener(listener(cfg, "smtp", cfg.smtp.smtp, false, ctx,
                                   {tern::mta::ListenerKind::Mx, cfg.smtp.smtp.auth, false}));
    if (cfg.smtp.submission.enabled())
      server.add_listener(listener(cfg, "submission", cfg.smtp.submission, false, ctx,
                                   {tern::mta::ListenerKind::Submission, true, true}));
    if (cfg.smtp.submissions.enabled())
      server.add_listener(listener(cfg, "submissions", cfg.smtp.submissions, true, ctx,
                                   {tern::mta::ListenerKind::Submissions, true, true}));

    // Delivery events are kept for [store] events_retention: prune hourly.
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread pruner([&] {
      std::unique_lock lk(mu);
      while (!done) {
        auto before = static_cast<tern::store::UnixTime>(std::time(nullptr) - cfg.store.events_retention.count());
        lk.unlock();
        if (auto n = store.prune_events(before); n && *n > 0) spdlog::info("pruned {} delivery events", *n);
        lk.lock();
        cv.wait_for(lk, std::chrono::hours(1), [&] { return done; });
      }
    });
    // The outbound queue: its own io thread; store work on the delivery pool.
    tern::mta::queue::QueueWorker outbound(cfg, store, delivery_pool);
    if (cfg.outbound.enabled) outbound.start();
    else spdlog::info("outbound delivery is off ([outbound] enabled = false): mail stays queued");
    int rc = tern::daemon::serve(server, kSpec.name, cfg);
    outbound.stop();
    recorder.stop();  // writes what the last sessions refused
    {
      std::lock_guard lk(mu);
      done = true;
    }
    cv.notify_all();
    pruner.join();
    delivery_pool.join();
    return rc;
  }
}

}  // namespace

int main(int argc, char** argv) { return tern::daemon::run(argc, argv, kSpec, serve_mta); }
