// tern-fault-daemon (test-only, never installed): a daemon built like the real ones (the
// shared start-up of tern/daemon/entry.hpp, a net::Server on the [pop3] listeners) whose
// one-line protocol injects a bug on request, so tests/integration/test_bug_abort.py can
// check that a bug aborts the daemon loudly and that the supervisor restarts it.
// tests/integration/test_bug_abort.py runs it as "tern-pop3d" under a copy of `tern`.
//
//   greeting "+OK fault-daemon <pid>"; then one command line:
//   ASSERT   drive the real POP3 state machine out of order (on_update_done() before
//            any QUIT): its TERN_ASSERT in common/src/pop3/session.cpp aborts
//   LOGIC    a std::logic_error escapes the session: net::Server aborts (internal error)
//   RUNTIME  a std::runtime_error escapes the session (the environment): logged, the
//            session ends, the daemon serves on
//   anything else: "+OK <pid>"
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "tern/daemon/entry.hpp"
#include "tern/net/server.hpp"
#include "tern/pop3/session.hpp"

namespace {

const tern::daemon::Spec kSpec{
    "tern-fault-daemon", "  Test-only: injects bugs on request (see tests/tools/fault_daemon.cpp).\n",
    [](const tern::config::Config& cfg) -> std::string {
      return cfg.pop3.plain.enabled() ? std::string() : "[pop3] has no listen address";
    }};

asio::awaitable<void> fault_session(tern::net::Connection& c) {
  const std::string pid = std::to_string(::getpid());
  c.write("+OK fault-daemon " + pid + "\r\n");
  if (!co_await c.flush()) co_return;
  tern::net::LineRead l = co_await c.read_line(64);
  if (l.status != tern::net::ReadStatus::Ok) co_return;
  if (l.line == "ASSERT") {
    tern::pop3::Session s(tern::pop3::SessionOptions{});
    std::string out;
    s.on_update_done(true, out);  // in AUTHORIZATION: a broken invariant
  } else if (l.line == "LOGIC") {
    throw std::logic_error("injected bug (tern-fault-daemon LOGIC)");
  } else if (l.line == "RUNTIME") {
    throw std::runtime_error("injected environment error (tern-fault-daemon RUNTIME)");
  }
  c.write("+OK " + pid + "\r\n");
  co_await c.flush();
}

int serve_faults(const tern::config::Config& cfg) {
  tern::net::Server server(cfg);
  server.add_listener(tern::daemon::listener(cfg, "pop3", cfg.pop3.plain.listen, false,
                                             "-ERR [SYS/TEMP] too many connections\r\n", fault_session));
  return tern::daemon::serve(server, kSpec.name, cfg);
}

}  // namespace

int main(int argc, char** argv) { return tern::daemon::run(argc, argv, kSpec, serve_faults); }
