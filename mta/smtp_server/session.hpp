#pragma once
// SmtpSession: the SMTP server state machine, with no I/O (style.md "One concern a file").
// Command lines go in; replies (queued in output()) and Actions come out. Anything that
// needs the outside world — a store lookup, a TLS handshake, a SASL exchange, reading
// message data — is returned as an Action; the driver (connection.cpp) performs it and
// reports the result back through the matching *_done()/checked() call.
//
// SmtpSession (peer, TLS, auth, counters) is apart from SmtpTransaction (envelope,
// recipients); RSET, a finished message and STARTTLS drop only the transaction
// (STARTTLS also forgets HELO, RFC 3207 §4.2). State changes only in enter_state(),
// traced at debug level as "old -> new".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/smtp/command.hpp"
#include "tern/smtp/reply.hpp"
#include "tern/store/types.hpp"

namespace tern::mta {

enum class ListenerKind { Mx, Submission, Submissions };
std::string_view listener_name(ListenerKind k);

struct SessionOptions {
  std::string hostname = "localhost";
  std::string id;                     // session id for logs
  ListenerKind kind = ListenerKind::Mx;
  bool tls = false;                   // the connection is already TLS (implicit TLS)
  bool starttls_available = true;     // STARTTLS may be offered (when not yet TLS)
  bool auth_enabled = false;          // AUTH offered on this listener (after TLS only)
  bool auth_required = false;         // MAIL needs a successful AUTH first (submission)
  bool trusted_peer = false;          // client in [smtp] trusted_networks: may relay
  std::uint64_t max_message_size = 50ull << 20;
  unsigned max_recipients = 100;
  unsigned error_limit = 20;
  // Postfix smtpd_junk_command_limit: NOOP/RSET/VRFY/EXPN/HELP beyond this many in a
  // session each count as an error too (a NOOP loop ends at error_limit). A delivered
  // message starts the count again.
  unsigned junk_limit = 100;
};

// Where one accepted recipient goes (filled by the RCPT check).
struct RecipientRoute {
  std::vector<store::LocalRecipient> local;  // local accounts (aliases expanded)
  std::vector<std::string> remote;           // queued: relay or forward targets
  bool relayed = false;                      // the recipient itself is remote (relay)
};

struct Recipient {
  smtp::Path path;
  smtp::RcptParams params;
  RecipientRoute route;
};

struct SmtpTransaction {
  smtp::Path sender;
  smtp::MailParams params;
  std::vector<Recipient> recipients;
  std::uint64_t bdat_bytes = 0;  // octets received by BDAT so far
};

struct AuthIdentity {
  store::AccountId account = 0;
  std::string address;
  std::string mechanism;
};

enum class State {
  Connected,  // greeting sent, no HELO/EHLO yet
  Ready,      // HELO/EHLO done, no transaction
  Mail,       // MAIL accepted
  Rcpt,       // at least one RCPT accepted
  Data,       // receiving DATA (driver is reading)
  Bdat,       // inside a BDAT sequence (between chunks)
  Closed,     // QUIT or error limit: close after the output is sent
};
std::string_view state_name(State s);

struct Action {
  enum class Kind {
    None,            // nothing to do: send output() when appropriate, read the next line
    Close,           // send output(), then close the connection
    StartTls,        // send output() (220), then the TLS handshake; then tls_started()
    Auth,            // run the SASL exchange (mechanism, initial); then auth_done()
    CheckSender,     // check transaction().sender; then sender_checked()
    CheckRecipient,  // check pending_recipient(); then recipient_checked()
    ReadData,        // send output() (354), read a dot-terminated body; then message_done()
    ReadBdat,        // read bdat_size octets (discard them if bdat_discard); then bdat_chunk_done()
  };
  Action() = default;
  Action(Kind k) : kind(k) {}  // NOLINT: implicit, for `return {Action::Kind::Close};`
  Kind kind = Kind::None;
  std::string mechanism;                // Auth
  std::optional<std::string> initial;   // Auth initial response
  std::uint64_t bdat_size = 0;          // ReadBdat
  bool bdat_last = false;               // ReadBdat
  bool bdat_discard = false;            // ReadBdat: read and drop (the reply is already decided)
};

class SmtpSession {
 public:
  explicit SmtpSession(SessionOptions opts);

  // The 220 greeting, queued in output().
  void greet();
  // One command line (CRLF removed).
  Action on_line(std::string_view line);
  // The framer dropped an overlong command line (RFC 5321 §4.5.3.1.4: 512 octets).
  Action on_line_too_long();
  // A command line ended by a bare LF or holding a bare CR: refused, never executed.
  Action on_bare_line_ending();
  // The client stayed silent past the command timeout (RFC 5321 §4.5.3.2.7).
  Action on_timeout();
  // The server is shutting down.
  Action on_shutdown();

  // Results of actions.
  void tls_started();
  // identity set = success (reply is the 235); else the refusal reply (counts as an error).
  Action auth_done(const std::optional<AuthIdentity>& identity, const smtp::Reply& reply);
  // rejection empty = accept the sender.
  Action sender_checked(const smtp::Reply& rejection);
  // rejection empty = accept pending_recipient() with this route.
  Action recipient_checked(const smtp::Reply& rejection, RecipientRoute route);
  // The end of a message (DATA or BDAT LAST): the reply the driver decided (the body
  // decoder's rejection, the delivery result). Drops the transaction.
  void message_done(const smtp::Reply& reply);
  // A non-LAST BDAT chunk of `octets` was read (RFC 3030 §2: 250 per chunk; size and
  // content checks are answered at LAST by message_done()).
  void bdat_chunk_done(std::uint64_t octets);

  // Replies queued so far; take them with take_output().
  const std::string& output() const { return out_; }
  std::string take_output();

  State state() const { return state_; }
  const SessionOptions& options() const { return opts_; }
  const SmtpTransaction& transaction() const { return tx_; }
  const Recipient& pending_recipient() const { return pending_rcpt_; }
  const std::string& helo() const { return helo_; }
  bool esmtp() const { return esmtp_; }
  bool tls() const { return tls_; }
  const std::optional<AuthIdentity>& identity() const { return identity_; }
  unsigned errors() const { return errors_; }
  unsigned junk_commands() const { return junk_; }
  // The last command ends a pipeline group (RFC 2920 §3.1: the client waits for its
  // reply): send the replies now even if more input is buffered.
  bool must_flush() const { return must_flush_; }
  // AUTH is advertised/accepted now (listener allows it and the connection is TLS).
  bool auth_available() const { return opts_.auth_enabled && tls_ && !identity_; }
  // Relaying to remote domains is allowed for this client.
  bool may_relay() const { return identity_.has_value() || opts_.trusted_peer; }
  // The Received "with" protocol keyword (RFC 3848, RFC 6531 §4.3).
  std::string protocol_keyword() const;
  // The EHLO reply lines for this session (for tests).
  smtp::Reply ehlo_reply() const;

 private:
  using Handler = Action (SmtpSession::*)(const smtp::SmtpCommand&);
  // Why a command is not offered at all now (empty = offered): checked first.
  using Offered = smtp::Reply (SmtpSession::*)() const;
  // One row of the dispatch table; on_line() applies the columns in this order:
  // offered, pre_tls_ok, states, then the handler; counts_as_junk after it.
  struct CommandSpec {
    smtp::Verb verb;
    Handler handler;
    unsigned states;           // bit set of the States the command is valid in
    Offered offered;           // nullptr = always offered
    bool pre_tls_ok;           // allowed on the submission listener before TLS
    bool counts_as_junk;       // NOOP-like: counts toward junk_limit
    bool ends_pipeline_group;  // RFC 2920 §3.1: the client waits for this reply
    bool reads_payload;        // octets follow the command even when refused (BDAT)
  };
  static const CommandSpec* find(smtp::Verb v);
  // The 503/554 for a command given in a state its row does not allow.
  smtp::Reply sequence_refusal(smtp::Verb v) const;
  smtp::Reply starttls_offered() const;
  smtp::Reply auth_offered() const;
  // Counts one error (the reply is already queued); 421 and Close at error_limit.
  Action count_error();

  Action cmd_helo(const smtp::SmtpCommand& c);
  Action cmd_ehlo(const smtp::SmtpCommand& c);
  Action cmd_mail(const smtp::SmtpCommand& c);
  Action cmd_rcpt(const smtp::SmtpCommand& c);
  Action cmd_data(const smtp::SmtpCommand& c);
  Action cmd_bdat(const smtp::SmtpCommand& c);
  Action cmd_rset(const smtp::SmtpCommand& c);
  Action cmd_noop(const smtp::SmtpCommand& c);
  Action cmd_quit(const smtp::SmtpCommand& c);
  Action cmd_vrfy(const smtp::SmtpCommand& c);
  Action cmd_help(const smtp::SmtpCommand& c);
  Action cmd_starttls(const smtp::SmtpCommand& c);
  Action cmd_auth(const smtp::SmtpCommand& c);

  void send(const smtp::Reply& r) { out_ += r.format(); }
  // A refusal that counts toward the error limit; returns Close once the limit is hit.
  Action fail(const smtp::Reply& r);
  void enter_state(State s);
  void reset_transaction();

  SessionOptions opts_;
  State state_ = State::Connected;
  SmtpTransaction tx_;
  Recipient pending_rcpt_;
  std::string helo_;
  bool esmtp_ = false;
  bool tls_ = false;
  std::optional<AuthIdentity> identity_;
  unsigned errors_ = 0;
  unsigned junk_ = 0;
  bool must_flush_ = false;
  std::string out_;
};

}  // namespace tern::mta
