// tern-web: the admin panel, JSON API, /metrics and client autoconfiguration.
// main only wires config -> log -> store -> authenticator -> app -> listeners.
// HTTPS with the shared [tls] certificate; plain HTTP only on loopback addresses
// (unless [web] tls = true asks for HTTPS there too).
#include <arpa/inet.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "server/dns_service.hpp"
#include "server/http_driver.hpp"
#include "tern/config/config.hpp"
#include "tern/log/log.hpp"
#include "tern/net/server.hpp"
#include "tern/store/store.hpp"
#include "tern/util/version.hpp"
#include "tern/web/app.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;
constexpr int kExitTempFail = 75;

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: tern-web [--config FILE]\n"
               "  Serves the admin panel, the JSON API (/api), /metrics, /healthz and client\n"
               "  autoconfiguration on [web] listen. Without --config the embedded default\n"
               "  (dev mode) is used.\n");
}

bool is_loopback(const tern::config::Endpoint& ep) {
  if (ep.v6()) return ep.host == "::1";
  in_addr a{};
  if (inet_pton(AF_INET, ep.host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
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
      std::printf("%s\n", tern::util::version_line("tern-web").c_str());
      return 0;
    } else {
      std::fprintf(stderr, "tern-web: unknown argument \"%s\"\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    }
  }

  tern::config::Config cfg;
  try {
    cfg = tern::config::load_config_or_default(config_file);
  } catch (const tern::config::ConfigError& e) {
    std::fprintf(stderr, "tern-web: %s\n", e.what());
    return kExitConfig;
  }
  tern::log::init(cfg, "tern-web");
  if (!cfg.web.enabled()) {
    spdlog::error("[web] has no listen address; nothing to do");
    return kExitConfig;
  }

  auto store = tern::store::Store::open(cfg.data_dir);
  if (!store) {
    spdlog::error("cannot open the store in {}: {}", cfg.data_dir.string(), store.error().message());
    return kExitTempFail;
  }

  try {
    tern::web::DnsService dns(cfg);  // the DNS page's lookups; outlives the server
    tern::dns::Resolver* resolver = dns.resolver();
    tern::net::Server server(cfg);
    auto auth = tern::web::make_web_authenticator(cfg, **store);
    tern::web::App app(cfg, **store, *auth);
    tern::web::HttpLimits limits;
    limits.body_limit = cfg.web.max_body;
    std::vector<tern::config::Endpoint> plain, tls;
    for (auto& ep : cfg.web.listen) (is_loopback(ep) && !cfg.web.tls ? plain : tls).push_back(ep);
    auto add = [&](const char* name, std::vector<tern::config::Endpoint> eps, bool implicit_tls) {
      if (eps.empty()) return;
      tern::net::ListenerOptions o;
      o.name = name;
      o.endpoints = std::move(eps);
      o.implicit_tls = implicit_tls;
      o.max_connections = cfg.limits.connections;
      o.max_per_ip = cfg.limits.connections_per_ip;
      o.over_limit_reply =
          "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 5\r\nconnection: close\r\n\r\n";
      tern::web::App* appp = &app;
      tern::auth::Authenticator* authp = auth.get();
      o.session = [appp, authp, limits, resolver](tern::net::Connection& c) {
        return tern::web::serve_http(c, *appp, *authp, limits, resolver);
      };
      server.add_listener(std::move(o));
    };
    add("web", plain, false);
    add("web-tls", tls, true);
    for (auto& ep : plain) spdlog::info("tern-web: http://{}/ (loopback, plain HTTP)", ep.text());
    for (auto& ep : tls) spdlog::info("tern-web: https://{}/", ep.text());
    spdlog::info("{} serving data_dir={}", tern::util::version_line("tern-web"), cfg.data_dir.string());
    int rc = server.run();
    spdlog::info("tern-web stopped");
    return rc;
  } catch (const std::exception& e) {
    spdlog::error("tern-web: {}", e.what());
    return 1;
  }
}
