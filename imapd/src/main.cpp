// tern-imapd: IMAP ([imap], STARTTLS) and IMAPS ([imaps]) listeners over the tern store.
// main only wires config -> store -> listeners (style.md "Layout"); the start-up is
// tern/daemon/entry.hpp's.
#include <memory>

#include "session.hpp"
#include "tern/daemon/entry.hpp"
#include "tern/imapd/service.hpp"
#include "tern/net/change_notifier.hpp"
#include "tern/net/server.hpp"
#include "tern/util/fd_limit.hpp"
#include "tern/store/change_source.hpp"
#include "tern/store/open_for_daemon.hpp"

namespace {

const tern::daemon::Spec kSpec{
    "tern-imapd",
    "  Serves IMAP ([imap], STARTTLS) and IMAPS ([imaps]) from the tern store.\n"
    "  Without --config the embedded default (dev mode) is used.\n",
    [](const tern::config::Config& cfg) -> std::string {
      if (cfg.imap.plain.enabled() || cfg.imap.implicit_tls.enabled()) return {};
      return "neither [imap] nor [imaps] has a listen address";
    }};

asio::awaitable<void> serve_imap(tern::net::Connection& c, std::shared_ptr<tern::imapd::ImapService> svc) {
  // Shared: a parked session is held by its connection, not by this frame.
  auto s = std::make_shared<tern::imapd::Session>(c, std::move(svc));
  co_await s->run();
}

int serve_imapd(const tern::config::Config& cfg) {
  auto store = tern::store::open_for_daemon(cfg.data_dir);
  if (!store) return tern::daemon::kExitTempFail;
  tern::net::Server server(cfg);
  server.set_fds_per_connection(tern::util::fds_per_connection(kSpec.name));
  auto svc = std::make_shared<tern::imapd::ImapService>(cfg, *store);
  // ONE store watcher (one inotify instance) for the whole process, shared by every
  // IDLE session through the notifier (issue 17: 10,000 IDLE sessions, one watcher).
  std::shared_ptr<tern::store::Store::Watcher> watcher(store->watch());
  tern::net::ChangeNotifier notifier(server.main_context(), tern::store::change_source(*store, watcher));
  notifier.start();
  svc->set_notifier(&notifier);
  server.on_shutdown([&notifier] { notifier.stop(); });
  const std::string over_limit = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
  auto session = [svc](tern::net::Connection& c) { return serve_imap(c, svc); };
  tern::daemon::add_listener_pair(server, cfg, "imap", cfg.imap.plain, "imaps", cfg.imap.implicit_tls, over_limit,
                                  session);
  return tern::daemon::serve(server, kSpec.name, cfg);
}

}  // namespace

int main(int argc, char** argv) { return tern::daemon::run(argc, argv, kSpec, serve_imapd); }
