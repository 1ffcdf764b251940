// IDLE (RFC 2177, RFC 9051 §6.3.13): mailbox changes made by any process (tern-mta
// deliveries, POP3, other IMAP sessions) are pushed while the client waits for DONE.
// cmd_idle answers "+ idling" and hands the wait to the session (Session::idle_loop):
// it parks on the connection (no coroutine frame while the client is quiet) until
// client input, the mailbox's change through the process's one ChangeNotifier (no
// polling, one inotify instance for 10,000 idling sessions), the autologout deadline
// or shutdown, and gives each wake to idle_step() below.
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
  s.begin_idle(c.tag, std::chrono::steady_clock::now() + s.cfg().imap.idle_timeout);
}

asio::awaitable<void> idle_step(Session& s, Session::Wake w) {
  using W = Session::Wake;
  if (w == W::closed) {
    s.end_idle();
    co_return;
  }
  if (w == W::input) {
    auto line = co_await s.read_line(kMaxDoneLine);
    if (!line) {
      s.end_idle();
      co_return;
    }
    std::string l = *line;
    for (auto& ch : l) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const std::string tag = s.idle_tag();
    s.end_idle();
    if (l == "DONE") {
      s.sync_mailbox(true);
      s.tagged(tag, "OK", "IDLE terminated");
    } else {
      // RFC 2177 §3: anything but DONE ends IDLE with BAD.
      s.bad_tag(tag, "Expected DONE");
    }
    co_return;
  }
  if (w == W::stopping) {
    s.end_idle();
    s.untagged("BYE Server shutting down");
    s.close("server shutting down");
    co_return;
  }
  if (w == W::timeout) {
    s.end_idle();
    s.untagged("BYE Idle for too long");
    s.close("idle timeout");
    co_return;
  }
  // W::change: send what changed (EXISTS, EXPUNGE, FETCH FLAGS) now; new mail is
  // \Recent in this session (RFC 3501 §2.3.2).
  co_await s.claim_recent();
  const store::ModSeq before = s.mailbox ? s.mailbox->highestmodseq : 0;
  s.sync_mailbox(true);
  if (s.mailbox && s.mailbox->highestmodseq == before) {
    // The store said "changed" but the view could not catch up (a read error): do not
    // spin on the notifier; look again after a pause (client input ends it early).
    bool closed = false;
    co_await s.wait_input(kRetryPause, closed);
    if (closed) {
      s.end_idle();
      co_return;
    }
  }
  if (s.pending_output() > 0) {
    bool fl = co_await s.flush();
    if (!fl) {
      s.end_idle();
      s.close("write error");
    }
  }
}

}  // namespace tern::imapd
