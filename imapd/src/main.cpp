// tern-imapd: IMAP ([imap], STARTTLS) and IMAPS ([imaps]) listeners over the tern store.
// main only wires config -> log -> store -> listeners (style.md "Layout").
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "session.hpp"
#include "tern/config/config.hpp"
#include "tern/imapd/service.hpp"
#include "tern/log/log.hpp"
#include "tern/net/change_notifier.hpp"
#include "tern/net/server.hpp"
#include "tern/store/change_source.hpp"
#include "tern/store/store.hpp"
#include "tern/util/version.hpp"

namespace {

constexpr int kExitUsage = 64;   // EX_USAGE
constexpr int kExitConfig = 78;  // EX_CONFIG
constexpr int kExitTempFail = 75;

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: tern-imapd [--config FILE]\n"
               "  Serves IMAP ([imap], STARTTLS) and IMAPS ([imaps]) from the tern store.\n"
               "  Without --config the embedded default (dev mode) is used.\n");
}

asio::awaitable<void> serve_imap(tern::net::Connection& c, std::shared_ptr<tern::imapd::ImapService> svc) {
  tern::imapd::Session s(c, std::move(svc));
  co_await s.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::filesystem::path> config_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_file = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_file = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("%s\n", tern::util::version_line("tern-imapd").c_str());
      return 0;
    } else {
      std::fprintf(stderr, "tern-imapd: unknown argument \"%s\"\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    }
  }

  tern::config::Config cfg;
  try {
    cfg = tern::config::load_config_or_default(config_file);
  } catch (const tern::config::ConfigError& e) {
    std::fprintf(stderr, "tern-imapd: %s\n", e.what());
    return kExitConfig;
  }
  tern::log::init(cfg, "tern-imapd");

  if (!cfg.imap.plain.enabled() && !cfg.imap.implicit_tls.enabled()) {
    spdlog::error("neither [imap] nor [imaps] has a listen address; nothing to do");
    return kExitConfig;
  }

  auto store = tern::store::Store::open(cfg.data_dir);
  if (!store) {
    spdlog::error("cannot open the store in {}: {}", cfg.data_dir.string(), store.error().message());
    return kExitTempFail;
  }

  try {
    tern::net::Server server(cfg);
    auto svc = std::make_shared<tern::imapd::ImapService>(cfg, **store);
    // ONE store watcher (one inotify instance) for the whole process, shared by every
    // IDLE session through the notifier (issue 17: 10,000 IDLE sessions, one watcher).
    std::shared_ptr<tern::store::Store::Watcher> watcher((*store)->watch());
    tern::net::ChangeNotifier notifier(server.main_context(), tern::store::change_source(**store, watcher));
    notifier.start();
    svc->set_notifier(&notifier);
    server.on_shutdown([&notifier] { notifier.stop(); });
    auto add = [&](const char* name, const tern::config::Listener& l, bool implicit_tls) {
      if (!l.enabled()) return;
      tern::net::ListenerOptions o;
      o.name = name;
      o.endpoints = l.listen;
      o.implicit_tls = implicit_tls;
      o.max_connections = cfg.limits.connections;
      o.max_per_ip = cfg.limits.connections_per_ip;
      o.over_limit_reply = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
      o.session = [svc](tern::net::Connection& c) { return serve_imap(c, svc); };
      server.add_listener(std::move(o));
    };
    add("imap", cfg.imap.plain, false);
    add("imaps", cfg.imap.implicit_tls, true);
    spdlog::info("{} serving data_dir={}", tern::util::version_line("tern-imapd"), cfg.data_dir.string());
    int rc = server.run();
    spdlog::info("tern-imapd stopped");
    return rc;
  } catch (const std::exception& e) {
    spdlog::error("tern-imapd: {}", e.what());
    return 1;
  }
}
