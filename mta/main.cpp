// tern-mta: config → log → store → authenticator → listeners → run (design §1, §4).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "connection.hpp"
#include "event_recorder.hpp"
#include "queue/worker.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/dns/resolver.hpp"
#include "tern/log/log.hpp"
#include "tern/net/server.hpp"
#include "tern/store/login_source.hpp"
#include "tern/store/store.hpp"
#include "tern/util/version.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: tern-mta [--config FILE]\n");
  return 64;
}

tern::net::ListenerOptions listener(const tern::config::Config& cfg, const char* name,
                                    const tern::config::Listener& l, bool implicit_tls,
                                    tern::mta::MtaContext& ctx, tern::mta::ListenerSetup setup) {
  tern::net::ListenerOptions o;
  o.name = name;
  o.endpoints = l.listen;
  o.implicit_tls = implicit_tls;
  o.max_connections = cfg.limits.connections;
  o.max_per_ip = cfg.limits.connections_per_ip;
  o.over_limit_reply = "421 4.7.0 " + cfg.hostname + " Too many connections, try again later\r\n";
  // A plain function object (not a coroutine lambda): it returns the named coroutine's
  // awaitable, whose arguments are owned copies (ctx outlives the server).
  o.session = [&ctx, setup](tern::net::Connection& c) { return tern::mta::serve_smtp(c, ctx, setup); };
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (tern::util::print_version_if_asked(argc, argv, "tern-mta")) return 0;
  std::optional<std::filesystem::path> config_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) config_path = argv[++i];
    else return usage();
  }
  tern::config::Config cfg;
  try {
    cfg = tern::config::load_config_or_default(config_path);
  } catch (const tern::config::ConfigError& e) {
    std::fprintf(stderr, "tern-mta: %s\n", e.what());
    return 78;  // EX_CONFIG
  }
  tern::log::init(cfg, "tern-mta");

  auto opened = tern::store::Store::open(cfg.data_dir);
  if (!opened) {
    spdlog::critical("cannot open the store in {}: {}", cfg.data_dir.string(), opened.error().message());
    return 75;  // EX_TEMPFAIL
  }
  tern::store::Store& store = **opened;

  // Spool files left by a crash belong to messages never acknowledged with 250: the
  // clients will retry them, so the files are garbage.
  {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(cfg.data_dir / "spool", ec))
      if (e.path().filename().string().rfind("msg-", 0) == 0) std::filesystem::remove(e.path(), ec);
  }

  tern::auth::Authenticator authenticator(tern::store::account_lookup(store),
                                          tern::store::authenticator_options(cfg, store));
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
  std::thread dns_thread;
  if (cfg.checks.enabled && cfg.smtp.smtp.enabled()) {
    try {
      resolver = std::make_unique<tern::dns::Resolver>(dns_io.get_executor(), cfg.dns);
    } catch (const std::exception& e) {
      spdlog::critical("tern-mta: DNS resolver: {}", e.what());
      return 78;  // EX_CONFIG
    }
    dns_thread = std::thread([&dns_io] { dns_io.run(); });
    ctx.resolver = resolver.get();
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

  try {
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
    spdlog::info("{} ready: hostname {}, data_dir {}", tern::util::version_line("tern-mta"), cfg.hostname, cfg.data_dir.string());
    int rc = server.run();
    outbound.stop();
    recorder.stop();  // writes what the last sessions refused
    {
      std::lock_guard lk(mu);
      done = true;
    }
    cv.notify_all();
    pruner.join();
    delivery_pool.join();
    spdlog::info("tern-mta stopped");
    return rc;
  } catch (const std::exception& e) {
    spdlog::critical("tern-mta: {}", e.what());
    return 1;
  }
}
