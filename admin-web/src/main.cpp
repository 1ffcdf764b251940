// tern-web: the admin panel, JSON API, /metrics and client autoconfiguration.
// main only wires config -> store -> authenticator -> app -> listeners; the start-up is
// tern/daemon/entry.hpp's.
// HTTPS with the shared [tls] certificate; plain HTTP only on loopback addresses
// (unless [web] tls = true asks for HTTPS there too).
#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "server/dns_service.hpp"
#include "server/http_driver.hpp"
#include "tern/daemon/entry.hpp"
#include "tern/net/server.hpp"
#include "tern/store/open_for_daemon.hpp"
#include "tern/web/app.hpp"

namespace {

const tern::daemon::Spec kSpec{
    "tern-web",
    "  Serves the admin panel, the JSON API (/api), /metrics, /healthz and client\n"
    "  autoconfiguration on [web] listen. Without --config the embedded default\n"
    "  (dev mode) is used.\n",
    [](const tern::config::Config& cfg) -> std::string {
      return cfg.web.enabled() ? std::string() : "[web] has no listen address";
    }};

bool is_loopback(const tern::config::Endpoint& ep) {
  if (ep.v6()) return ep.host == "::1";
  in_addr a{};
  if (inet_pton(AF_INET, ep.host.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 24) == 127;
}

int serve_web(const tern::config::Config& cfg) {
  auto store = tern::store::open_for_daemon(cfg.data_dir);
  if (!store) return tern::daemon::kExitTempFail;
  tern::web::DnsService dns(cfg);  // the DNS page's lookups; outlives the server
  tern::dns::Resolver* resolver = dns.resolver();
  tern::net::Server server(cfg);
  auto auth = tern::web::make_web_authenticator(cfg, *store);
  tern::web::App app(cfg, *store, *auth);
  tern::web::HttpLimits limits;
  limits.body_limit = cfg.web.max_body;
  std::vector<tern::config::Endpoint> plain, tls;
  for (auto& ep : cfg.web.listen) (is_loopback(ep) && !cfg.web.tls ? plain : tls).push_back(ep);
  const std::string over_limit =
      "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 5\r\nconnection: close\r\n\r\n";
  tern::web::App* appp = &app;
  tern::auth::Authenticator* authp = auth.get();
  auto session = [appp, authp, limits, resolver](tern::net::Connection& c) {
    return tern::web::serve_http(c, *appp, *authp, limits, resolver);
  };
  if (!plain.empty()) server.add_listener(tern::daemon::listener(cfg, "web", plain, false, over_limit, session));
  if (!tls.empty()) server.add_listener(tern::daemon::listener(cfg, "web-tls", tls, true, over_limit, session));
  for (auto& ep : plain) spdlog::info("tern-web: http://{}/ (loopback, plain HTTP)", ep.text());
  for (auto& ep : tls) spdlog::info("tern-web: https://{}/", ep.text());
  return tern::daemon::serve(server, kSpec.name, cfg);
}

}  // namespace

int main(int argc, char** argv) { return tern::daemon::run(argc, argv, kSpec, serve_web); }
