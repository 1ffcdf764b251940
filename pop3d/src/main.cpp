// tern-pop3d: POP3 (STLS) and POP3S listeners over the tern store.
// main only wires config -> store -> listeners (style.md "Layout"); the start-up is
// tern/daemon/entry.hpp's.
#include <memory>

#include "tern/daemon/entry.hpp"
#include "tern/net/server.hpp"
#include "tern/pop3d/connection.hpp"
#include "tern/pop3d/service.hpp"
#include "tern/store/open_for_daemon.hpp"

namespace {

const tern::daemon::Spec kSpec{
    "tern-pop3d",
    "  Serves POP3 ([pop3], STLS) and POP3S ([pop3s]) from the tern store.\n"
    "  Without --config the embedded default (dev mode) is used.\n",
    [](const tern::config::Config& cfg) -> std::string {
      if (cfg.pop3.plain.enabled() || cfg.pop3.implicit_tls.enabled()) return {};
      return "neither [pop3] nor [pop3s] has a listen address";
    }};

int serve_pop3d(const tern::config::Config& cfg) {
  auto store = tern::store::open_for_daemon(cfg.data_dir);
  if (!store) return tern::daemon::kExitTempFail;
  tern::net::Server server(cfg);
  auto svc = std::make_shared<tern::pop3d::Pop3Service>(cfg, *store);
  // RFC 3206 §4 [SYS/TEMP]: a temporary condition, try later.
  const std::string over_limit = "-ERR [SYS/TEMP] too many connections, try again later\r\n";
  auto session = [svc](tern::net::Connection& c) { return tern::pop3d::serve_pop3(c, svc); };
  tern::daemon::add_listener_pair(server, cfg, "pop3", cfg.pop3.plain, "pop3s", cfg.pop3.implicit_tls, over_limit,
                                  session);
  return tern::daemon::serve(server, kSpec.name, cfg);
}

}  // namespace

int main(int argc, char** argv) { return tern::daemon::run(argc, argv, kSpec, serve_pop3d); }
