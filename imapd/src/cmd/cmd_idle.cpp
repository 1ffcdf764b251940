// IDLE (RFC 2177, RFC 9051 §6.3.13): mailbox changes made by any process (tern-mta
// deliveries, POP3, other IMAP sessions) are pushed while the client waits for DONE.
// The session waits for "client input or a store change" on the process's one
// ChangeNotifier (Session::wait_input_or_change): no polling, no blocked thread, and
// 10,000 idling sessions share one inotify instance.
#include "cmd/commands.hpp"
#include "tern/log/log.hpp"

namespace tern::imapd {

namespace {

constexpr std::size_t kMaxDoneLine = 1024;
constexpr std::chrono::milliseconds kRetryPause{200};

}  // namespace

asio::awaitable<void> cmd_idle(Session& s, imap::Command& c) {
  if (!c.args.empty()) {
    s.bad(c, "IDLE takes no arguments");
    co_return;
  }
  s.sync_mailbox(true);
  s.write("+ idling\r\n");
  bool ok = co_await s.flush();
  if (!ok) {
    s.close("write error");
    co_return;
  }
  // RFC 9051 §5.4: autologout after at least 30 minutes ([imap] idle_timeout).
  const auto deadline = std::chrono::steady_clock::now() + s.cfg().imap.idle_timeout;
  for (;;) {
    using W = Session::Wake;
    W w = co_await s.wait_input_or_change(deadline);
    if (w == W::closed) co_return;
    if (w == W::input) {
      auto line = co_await s.read_line(kMaxDoneLine);
      if (!line) co_return;
      std::string l = *line;
      for (auto& ch : l) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (l == "DONE") break;
      // RFC 2177 §3: anything but DONE ends IDLE with BAD.
      s.bad(c, "Expected DONE");
      co_return;
    }
    if (w == W::stopping) {
      s.untagged("BYE Server shutting down");
      s.close("server shutting down");
      co_return;
    }
    if (w == W::timeout) {
      s.untagged("BYE Idle for too long");
      s.close("idle timeout");
      co_return;
    }
    // W::change: send what changed (EXISTS, EXPUNGE, FETCH FLAGS) now.
    const store::ModSeq before = s.mailbox ? s.mailbox->highestmodseq : 0;
    s.sync_mailbox(true);
    if (s.mailbox && s.mailbox->highestmodseq == before) {
      // The store said "changed" but the view could not catch up (a read error): do not
      // spin on the notifier; look again after a pause (client input ends it early).
      bool closed = false;
      co_await s.wait_input(kRetryPause, closed);
      if (closed) co_return;
    }
    if (s.pending_output() > 0) {
      bool fl = co_await s.flush();
      if (!fl) {
        s.close("write error");
        co_return;
      }
    }
  }
  s.sync_mailbox(true);
  s.ok(c, "IDLE terminated");
}

}  // namespace tern::imapd
