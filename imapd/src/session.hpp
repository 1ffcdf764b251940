#pragma once
// Session: one IMAP client connection (RFC 9051 §3): the state (one enum, changed only
// in enter_state), the enabled extensions, the selected mailbox view, and the output
// helpers the command handlers in cmd/ use. The driver loop (session.cpp) feeds
// socket bytes to the pure imap::CommandParser and dispatches each command through
// the table in cmd/commands.cpp, which lists the states each command is allowed in.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "deflate_stream.hpp"
#include "mailbox_view.hpp"
#include "message_content.hpp"
#include "tern/imap/command.hpp"
#include "tern/imapd/service.hpp"
#include "tern/net/change_notifier.hpp"
#include "tern/net/connection.hpp"

namespace tern::imapd {

enum class State { NotAuthenticated, Authenticated, Selected, Logout };
std::string_view state_name(State s);

// Held by shared_ptr: while it waits for the client (a command, or IDLE's DONE or a
// mailbox change) the session parks (net::Connection::park): no coroutine frame is
// kept, and the connection holds the session until resume() continues it (issue 17:
// 10,000 idle TLS sessions under 200 MB).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::Connection& c, std::shared_ptr<ImapService> svc);
  // The session from its greeting; returns at its end, or parked.
  asio::awaitable<void> run();
  // Continues a parked session (the connection's ResumeFn).
  asio::awaitable<void> resume(net::ParkWake why);

  // ---- what handlers use
  net::Connection& conn() { return c_; }
  ImapService& svc() { return *svc_; }
  store::Store& store() { return svc_->store(); }
  const config::Config& cfg() const { return svc_->config(); }
  State state() const { return state_; }
  void enter_state(State s);
  const std::string& id() const { return c_.id(); }

  // Output: queued, sent by flush() (or before the next read).
  void write(std::string_view bytes) { out_.append(bytes); }
  std::size_t pending_output() const { return out_.size(); }
  void untagged(std::string_view text);                 // "* text\r\n"
  void tagged(std::string_view tag, std::string_view status, std::string_view text);
  void ok(const imap::Command& c, std::string_view text) { tagged(c.tag, "OK", text); }
  void no(const imap::Command& c, std::string_view text) { tagged(c.tag, "NO", text); }
  void bad(const imap::Command& c, std::string_view text);
  asio::awaitable<bool> flush();
  // Reads one raw line (AUTHENTICATE responses, IDLE's DONE); nullopt on EOF/timeout.
  asio::awaitable<std::optional<std::string>> read_line(std::size_t max);
  // Waits up to `d` for client input; true when some arrived (it is buffered in the
  // parser), false on timeout. `closed` is set on EOF or error.
  asio::awaitable<bool> wait_input(std::chrono::milliseconds d, bool& closed);
  // IDLE's wait: client input or a change of the selected mailbox (any process's
  // commit, through the process's one ChangeNotifier), whichever comes first, until
  // `deadline`. No thread blocks and nothing polls. Input is buffered in the parser.
  enum class Wake { input, change, timeout, closed, stopping };
  asio::awaitable<Wake> wait_input_or_change(std::chrono::steady_clock::time_point deadline);
  // IDLE in progress (cmd_idle.cpp): begin_idle() after "+ idling"; the session then
  // waits (parked when it can) and hands each wake to idle_step() until end_idle().
  void begin_idle(std::string tag, std::chrono::steady_clock::time_point deadline);
  void end_idle();
  const std::string& idle_tag() const { return idle_tag_; }
  // BAD to a command no longer at hand (IDLE's tag): counts toward the error limit.
  void bad_tag(std::string_view tag, std::string_view text);
  // A command (or IDLE) ends the session after its response.
  void close(std::string_view reason) {
    close_ = true;
    end_reason_ = reason;
  }

  // Capabilities for CAPABILITY and the greeting / login response codes.
  std::string capabilities() const;
  bool tls() const { return c_.is_tls(); }
  bool starttls_offered() const { return c_.listener() == "imap" && !c_.is_tls(); }
  bool plaintext_auth_ok() const { return c_.is_tls() || cfg().imap.allow_plaintext_auth; }

  // ---- logged-in account
  store::AccountId account = 0;
  std::string user;

  // ---- extensions the client ENABLEd (RFC 5161)
  bool rev2 = false;       // IMAP4rev2 (RFC 9051)
  bool condstore = false;  // CONDSTORE, also on by any CONDSTORE-using command (RFC 7162 §3.1)
  bool qresync = false;    // QRESYNC (implies CONDSTORE)
  bool utf8 = false;       // UTF8=ACCEPT (RFC 6855) — through IMAP4rev2
  // A CONDSTORE-enabling command (FETCH MODSEQ, STORE UNCHANGEDSINCE, SEARCH MODSEQ,
  // ...): RFC 7162 §3.1 asks for "* OK [HIGHESTMODSEQ n]" when a mailbox is selected.
  void enable_condstore();

  // ---- selected mailbox (state Selected)
  std::optional<MailboxView> mailbox;
  // Sends pending mailbox updates (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS).
  void sync_mailbox(bool allow_expunge);
  // \Recent (RFC 3501 §2.3.2): in a read-write selected mailbox, claims the messages
  // no session has claimed yet (Store::claim_recent, atomic across processes), so the
  // next sync shows them \Recent here and nowhere else; sends "* n RECENT" when
  // messages already announced became \Recent. Cheap when nothing was committed since
  // the last look (no txn); a write only when there is something to claim. Called
  // before each command (dispatch), by APPEND/COPY into the selected mailbox and by
  // IDLE before it reports new mail.
  asio::awaitable<void> claim_recent();

  // COMPRESS=DEFLATE (RFC 4978).
  bool compressing() const { return deflate_ != nullptr; }
  bool start_compress();
  // STARTTLS: the parser drops what was pipelined after the command.
  void discard_input() { parser_.discard_input(); }

  // The command being run; handlers read cmd_uid for "UID FETCH" etc.
  bool cmd_uid = false;

  // Structures parsed by this command and not found in the store's per-body cache
  // (MessageContent queues them here); written by write_mime_cache() in one commit at
  // the end of the command. Its counters go into the disconnect log line.
  MimeCache mime_cache;
  asio::awaitable<void> write_mime_cache();

 private:
  static imap::ParserLimits preauth_limits(imap::ParserLimits l);
  asio::awaitable<void> dispatch(imap::Command& cmd);
  // The command loop; returns when the session is over or parked (parked_).
  asio::awaitable<void> loop();
  // The goodbye: last output, the disconnect line.
  asio::awaitable<void> end();
  // Waits for more command input: parks when it can (parked set, parked_ too).
  // false: EOF/timeout/error (close_ set).
  asio::awaitable<bool> wait_command(bool& parked);
  // IDLE: runs idle_step() on each wake while idling; true when parked.
  asio::awaitable<bool> idle_loop();
  // IDLE's next wake: parks when it can (parked set; the wake comes through resume()).
  asio::awaitable<Wake> idle_wait(bool& parked);
  net::ResumeFn resume_fn();
  // Before a wait: queued replies go out (false: write error, close_ set) and the
  // emptied output buffers are freed.
  asio::awaitable<bool> flush_before_wait();
  // park() returned `input`: feeds what it buffered to the parser (false: close_ set).
  asio::awaitable<bool> take_buffered_input();
  // The read deadline passed while waiting for a command: autologout (RFC 9051 §5.4).
  void autologout();
  asio::awaitable<bool> read_more();  // false: EOF/timeout/error (close_ set)
  bool feed_input(const std::string& in);  // false: corrupt compressed stream (close_ set)
  void push_output(bool tagged_end);
  void release_output();  // frees out_'s capacity when it is empty

  net::Connection& c_;
  std::shared_ptr<ImapService> svc_;
  imap::CommandParser parser_;
  State state_ = State::NotAuthenticated;
  std::string out_;
  bool close_ = false;
  std::string end_reason_ = "closed";
  unsigned errors_ = 0;
  std::uint64_t recent_checked_commit_ = 0;  // store commit claim_recent last looked at
  std::unique_ptr<DeflateStream> deflate_;
  std::string inflated_;
  bool parked_ = false;
  // IDLE (begin_idle .. end_idle): the command's tag, the autologout deadline, the
  // mailbox subscription the parked wait ends on, a wake resume() already took.
  bool idle_ = false;
  std::string idle_tag_;
  std::chrono::steady_clock::time_point idle_deadline_{};
  std::unique_ptr<net::ChangeNotifier::Subscription> idle_sub_;
  std::optional<Wake> pending_wake_;
};

}  // namespace tern::imapd
