#pragma once
// The POP3 session state machine (RFC 1939 §3-§6, RFC 2449, RFC 2595, RFC 5034). Pure:
// command lines in, reply bytes and Actions out; no I/O, no store, no clock.
//
// The driver (pop3d/connection) feeds each command line to handle_line(), which appends
// the reply bytes to `out` and returns an Action. For Action::None the driver just sends
// `out`. Other actions need I/O the driver performs, then it reports back:
//   StartTls     -> send out, TLS handshake, then on_tls_started() (or close on failure)
//   Login        -> verify user/password (throttle, store, lock, snapshot), then
//                   on_login_ok() or on_login_failed()
//   Authenticate -> run the SASL exchange for `mechanism` (with initial_response),
//                   then on_login_ok() or on_login_failed()
//   Retrieve     -> send out (the "+OK" line), then the message `uid` through a
//                   MessageEncoder(top_lines) and its ".\r\n"
//   Update       -> expunge `deletions` in one store transaction (RFC 1939 §6), then
//                   on_update_done(); the session is then Closed
//   Close        -> send out, close the connection
// Dispatch is a table {verb, handler, states}: a command outside its states gets
// "-ERR command not valid in this state"; state changes only in enter_state().
// Every "-ERR" caused by the client (bad syntax, wrong state, bad message number, failed
// login) counts toward error_limit; the reply that reaches the limit is
// "-ERR [SYS/PERM] too many errors" and the action is Close.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/pop3/command.hpp"
#include "tern/pop3/response.hpp"

namespace tern::pop3 {

enum class State { Authorization, Transaction, Update, Closed };
std::string_view state_name(State s);

// One message of the maildrop snapshot taken at login.
struct MaildropMessage {
  std::uint32_t uid = 0;   // store UID in INBOX
  std::uint64_t size = 0;  // octets of the POP3 form (see message_encoder.hpp)
  std::string uidl;        // RFC 1939 §7 unique-id: 1..70 octets 0x21..0x7E
};

struct SessionOptions {
  std::string hostname = "localhost";
  bool tls_active = false;           // pop3s, or set by on_tls_started()
  bool stls_available = false;       // the listener may offer STLS
  bool allow_plaintext_auth = false; // [pop3] allow_plaintext_auth
  std::vector<std::string> sasl_mechanisms;  // upper case, in preference order
  std::optional<unsigned> expire_days;       // CAPA EXPIRE
  std::optional<unsigned> login_delay_secs;  // CAPA LOGIN-DELAY
  unsigned error_limit = 20;                 // [limits] error_limit
};

struct Action {
  enum class Kind { None, StartTls, Login, Authenticate, Retrieve, Update, Close };
  Kind kind = Kind::None;
  // Login: the USER name and PASS password (the driver must not log the password).
  std::string user;
  std::string password;
  // Authenticate
  std::string mechanism;
  std::optional<std::string> initial_response;
  // Retrieve
  std::size_t index = 0;  // 0-based position in the maildrop
  std::uint32_t uid = 0;
  std::optional<std::uint64_t> top_lines;
  // Update: UIDs to expunge
  std::vector<std::uint32_t> deletions;
};

class Session {
 public:
  explicit Session(SessionOptions opts);

  // "+OK <hostname> POP3 server ready\r\n" (RFC 1939 §4).
  std::string greeting() const;

  // One command line without CRLF.
  Action handle_line(std::string_view line, std::string& out);
  // The line was longer than kMaxCommandLine (the driver skipped it).
  Action handle_too_long(std::string& out);

  // After the STLS handshake (RFC 2595 §4: the server forgets what came before).
  void on_tls_started();

  // Login succeeded: enter TRANSACTION with this snapshot.
  void on_login_ok(std::string user, std::vector<MaildropMessage> maildrop, std::string& out);
  // Login failed: "-ERR [code] text"; counts as an error (may return Close).
  Action on_login_failed(RespCode code, std::string_view text, std::string& out);

  // After Update: ok = the store transaction committed. The session is Closed.
  void on_update_done(bool ok, std::string& out);

  // Server shutting down or idle timeout: a final "-ERR" line, then Closed.
  void on_abort(std::string_view text, std::string& out);

  State state() const { return state_; }
  bool tls_active() const { return opts_.tls_active; }
  const std::string& user() const { return user_; }
  unsigned errors() const { return errors_; }
  // Whether USER/PASS/AUTH are allowed now (TLS, or allow_plaintext_auth).
  bool auth_allowed() const { return opts_.tls_active || opts_.allow_plaintext_auth; }
  // Maildrop view (for the driver's logs and tests).
  std::size_t message_count() const { return maildrop_.size(); }
  std::size_t deleted_count() const;
  const std::vector<MaildropMessage>& maildrop() const { return maildrop_; }

  // The CAPA response (multi-line, with its terminating ".\r\n").
  std::string capabilities() const;

 private:
  using Handler = Action (Session::*)(const Command&, std::string&);
  // One row of the dispatch table (style.md: a table drives dispatch, as SMTP's).
  struct CommandSpec {
    Verb verb;
    Handler handler;
    unsigned states;  // bit set of the States the command is valid in
  };
  static const CommandSpec* find(Verb v);

  Action fail(std::string& out, RespCode code, std::string_view text);
  // The only place state_ changes.
  void enter_state(State s);
  Action cmd_capa(const Command& cmd, std::string& out);
  Action cmd_quit(const Command& cmd, std::string& out);
  Action cmd_stls(const Command& cmd, std::string& out);
  Action cmd_user(const Command& cmd, std::string& out);
  Action cmd_pass(const Command& cmd, std::string& out);
  Action cmd_auth(const Command& cmd, std::string& out);
  Action cmd_stat(const Command& cmd, std::string& out);
  Action cmd_list(const Command& cmd, std::string& out);  // LIST and UIDL
  Action cmd_retr(const Command& cmd, std::string& out);  // RETR and TOP
  Action cmd_dele(const Command& cmd, std::string& out);
  Action cmd_noop(const Command& cmd, std::string& out);
  Action cmd_rset(const Command& cmd, std::string& out);
  // Resolves a message number to an index; on failure appends the -ERR and returns
  // nullopt (with `fail_action` set).
  std::optional<std::size_t> message(std::uint64_t msg, std::string& out, Action& fail_action);
  void stat_totals(std::size_t& count, std::uint64_t& octets) const;

  SessionOptions opts_;
  State state_ = State::Authorization;
  unsigned errors_ = 0;
  std::optional<std::string> pending_user_;  // after USER, until the next command
  std::optional<std::string> last_user_;     // the USER name for the command being run
  std::string user_;
  std::vector<MaildropMessage> maildrop_;
  std::vector<bool> deleted_;
};

}  // namespace tern::pop3
