// IDLE (RFC 2177, RFC 9051 §6.3.13): mailbox changes made by any process (tern-mta
// deliveries, POP3, other IMAP sessions) are pushed while the client waits for DONE.
#include "cmd/commands.hpp"
#include "tern/log/log.hpp"

namespace tern::imapd {

namespace {

// How often the store's commit counter is looked at while idling. The counter is
// cheap (no transaction), and a change triggers one mailbox sync. 200 ms keeps a
// new delivery well inside the 1 s the issue asks for.
// Known gap (see the closing note): a process-wide change watcher (one inotify, common/) replaces this polling.
constexpr std::chrono::milliseconds kPollInterval{200};
constexpr std::size_t kMaxDoneLine = 1024;

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
  const auto deadline = std::chrono::steady_clock::now() + s.cfg().imap.idle_timeout;
  std::uint64_t seen_commit = s.store().last_commit();
  for (;;) {
    bool closed = false;
    bool input = co_await s.wait_input(kPollInterval, closed);
    if (closed) co_return;
    if (input) {
      auto line = co_await s.read_line(kMaxDoneLine);
      if (!line) co_return;
      std::string l = *line;
      for (auto& ch : l) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (l == "DONE") break;
      // RFC 2177 §3: anything but DONE ends IDLE with BAD.
      s.bad(c, "Expected DONE");
      co_return;
    }
    if (s.conn().stopping()) {
      s.untagged("BYE Server shutting down");
      s.close("server shutting down");
      co_return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // RFC 9051 §5.4: autologout after at least 30 minutes.
      s.untagged("BYE Idle for too long");
      s.close("idle timeout");
      co_return;
    }
    std::uint64_t now_commit = s.store().last_commit();
    if (now_commit != seen_commit) {
      seen_commit = now_commit;
      co_await s.claim_recent();  // new mail is \Recent in this session (RFC 3501 §2.3.2)
      s.sync_mailbox(true);
      if (s.pending_output() > 0) {
        bool fl = co_await s.flush();
        if (!fl) {
          s.close("write error");
          co_return;
        }
      }
    }
  }
  s.sync_mailbox(true);
  s.ok(c, "IDLE terminated");
}

}  // namespace tern::imapd
