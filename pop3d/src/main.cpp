// tern-pop3d: POP3 (STLS) and POP3S listeners over the tern store.
// main only wires config -> log -> store -> listeners (style.md "Layout").
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "tern/config/config.hpp"
#include "tern/log/log.hpp"
#include "tern/net/server.hpp"
#include "tern/pop3d/connection.hpp"
#include "tern/pop3d/service.hpp"
#include "tern/store/store.hpp"
#include "tern/util/version.hpp"

namespace {

constexpr int kExitUsage = 64;   // EX_USAGE
constexpr int kExitConfig = 78;  // EX_CONFIG
constexpr int kExitTempFail = 75;

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: tern-pop3d [--config FILE]\n"
               "  Serves POP3 ([pop3], STLS) and POP3S ([pop3s]) from the tern store.\n"
               "  Without --config the embedded default (dev mode) is used.\n");
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
      std::printf("%s\n", tern::util::version_line("tern-pop3d").c_str());
      return 0;
    } else {
      std::fprintf(stderr, "tern-pop3d: unknown argument \"%s\"\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    }
  }

  tern::config::Config cfg;
  try {
    cfg = tern::config::load_config_or_default(config_file);
  } catch (const tern::config::ConfigError& e) {
    std::fprintf(stderr, "tern-pop3d: %s\n", e.what());
    return kExitConfig;
  }
  tern::log::init(cfg, "tern-pop3d");

  if (!cfg.pop3.plain.enabled() && !cfg.pop3.implicit_tls.enabled()) {
    spdlog::error("neither [pop3] nor [pop3s] has a listen address; nothing to do");
    return kExitConfig;
  }

  auto store = tern::store::Store::open(cfg.data_dir);
  if (!store) {
    spdlog::error("cannot open the store in {}: {}", cfg.data_dir.string(), store.error().message());
    return kExitTempFail;
  }

  try {
    tern::net::Server server(cfg);
    auto svc = std::make_shared<tern::pop3d::Pop3Service>(cfg, **store);
    auto add = [&](const char* name, const tern::config::Listener& l, bool implicit_tls) {
      if (!l.enabled()) return;
      tern::net::ListenerOptions o;
      o.name = name;
      o.endpoints = l.listen;
      o.implicit_tls = implicit_tls;
      o.max_connections = cfg.limits.connections;
      o.max_per_ip = cfg.limits.connections_per_ip;
      // RFC 3206 §4 [SYS/TEMP]: a temporary condition, try later.
      o.over_limit_reply = "-ERR [SYS/TEMP] too many connections, try again later\r\n";
      o.session = [svc](tern::net::Connection& c) { return tern::pop3d::serve_pop3(c, svc); };
      server.add_listener(std::move(o));
    };
    add("pop3", cfg.pop3.plain, false);
    add("pop3s", cfg.pop3.implicit_tls, true);
    spdlog::info("{} serving data_dir={}", tern::util::version_line("tern-pop3d"), cfg.data_dir.string());
    int rc = server.run();
    spdlog::info("tern-pop3d stopped");
    return rc;
  } catch (const std::exception& e) {
    spdlog::error("tern-pop3d: {}", e.what());
    return 1;
  }
}
