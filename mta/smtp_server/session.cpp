// SMTP server state machine. Sequencing rules: RFC 5321 §4.1.4 (order of commands),
// §4.3.2 (replies per command); extensions: RFC 1870 (SIZE), 2920 (PIPELINING), 3030
// (CHUNKING), 3207 (STARTTLS), 3461 (DSN), 4954 (AUTH), 6152 (8BITMIME), 6531 (SMTPUTF8).
// Enhanced status codes (RFC 2034 §3) on every reply except the greeting and the
// HELO/EHLO replies, where RFC 2034 does not define them.
#include "session.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "tern/log/assert.hpp"

namespace tern::mta {

using smtp::Reply;
using smtp::SmtpCommand;
using smtp::Verb;
namespace esc = smtp::esc;

std::string_view listener_name(ListenerKind k) {
  switch (k) {
    case ListenerKind::Mx: return "smtp";
    case ListenerKind::Submission: return "submission";
    case ListenerKind::Submissions: return "submissions";
  }
  return "?";
}

std::string_view state_name(State s) {
  switch (s) {
    case State::Connected: return "connected";
    case State::Ready: return "ready";
    case State::Mail: return "mail";
    case State::Rcpt: return "rcpt";
    case State::Data: return "data";
    case State::Bdat: return "bdat";
    case State::Closed: return "closed";
  }
  return "?";
}

namespace {
constexpr unsigned in(State s) { return 1u << static_cast<unsigned>(s); }
constexpr unsigned kAny = in(State::Connected) | in(State::Ready) | in(State::Mail) | in(State::Rcpt) |
                          in(State::Bdat);
constexpr unsigned kGreeted = in(State::Ready) | in(State::Mail) | in(State::Rcpt);
constexpr unsigned kNotInBdat = kAny & ~in(State::Bdat);
}  // namespace

// The dispatch table. states: RFC 5321 §4.1.4 (order of commands), RFC 3030 §2 (BDAT).
// pre_tls_ok: on the submission listener a client must STARTTLS before anything that
// leads to a login or a message (RFC 8314 §3.3 / RFC 6409 §4.3 policy). counts_as_junk:
// Postfix's smtpd_junk_command_limit set (commands that make no progress).
// ends_pipeline_group: RFC 2920 §3.1 (EHLO, DATA, VRFY, EXPN, NOOP, QUIT; STARTTLS and
// AUTH by RFC 3207 §4.2 / RFC 4954 §4), plus HELP, which also waits for its answer.
const SmtpSession::CommandSpec* SmtpSession::find(Verb v) {
  using S = SmtpSession;
  static const std::array<CommandSpec, 14> table{{
      // verb          handler          states                         offered              pre_tls junk  flush  payload
      {Verb::Helo, &S::cmd_helo, kNotInBdat, nullptr, true, false, true, false},
      {Verb::Ehlo, &S::cmd_ehlo, kNotInBdat, nullptr, true, false, true, false},
      {Verb::Mail, &S::cmd_mail, in(State::Ready), nullptr, false, false, false, false},
      {Verb::Rcpt, &S::cmd_rcpt, in(State::Mail) | in(State::Rcpt), nullptr, false, false, false, false},
      {Verb::Data, &S::cmd_data, in(State::Rcpt), nullptr, false, false, true, false},
      {Verb::Bdat, &S::cmd_bdat, in(State::Rcpt) | in(State::Bdat), nullptr, false, false, false, true},
      {Verb::Rset, &S::cmd_rset, kAny, nullptr, true, true, false, false},
      {Verb::Noop, &S::cmd_noop, kAny, nullptr, true, true, true, false},
      {Verb::Quit, &S::cmd_quit, kAny, nullptr, true, false, true, false},
      {Verb::Vrfy, &S::cmd_vrfy, kAny, nullptr, true, true, true, false},
      {Verb::Expn, &S::cmd_vrfy, kAny, nullptr, true, true, true, false},
      {Verb::Help, &S::cmd_help, kAny, nullptr, true, true, true, false},
      {Verb::Starttls, &S::cmd_starttls, kGreeted, &S::starttls_offered, true, false, true, false},
      {Verb::Auth, &S::cmd_auth, in(State::Ready), &S::auth_offered, false, false, true, false},
  }};
  for (const auto& e : table)
    if (e.verb == v) return &e;
  return nullptr;
}

Reply SmtpSession::sequence_refusal(Verb v) const {
  const bool needs_ehlo = v == Verb::Starttls || v == Verb::Auth;
  if (state_ == State::Connected)
    return Reply(503, esc::invalid_command, needs_ehlo ? "Send EHLO first" : "Send HELO/EHLO first");
  if (v == Verb::Mail) return Reply(503, esc::invalid_command, "Nested MAIL command");
  if (state_ == State::Bdat) {
    if (v == Verb::Data) return Reply(503, esc::invalid_command, "DATA not allowed after BDAT");
    if (v == Verb::Rcpt) return Reply(503, esc::invalid_command, "RCPT not allowed during BDAT");
  }
  if (v == Verb::Rcpt || v == Verb::Data || v == Verb::Bdat) {
    if (state_ == State::Ready) return Reply(503, esc::invalid_command, "Need MAIL command");
    if (state_ == State::Mail) return Reply(554, esc::invalid_command, "No valid recipients");
  }
  if (v == Verb::Auth) return Reply(503, esc::invalid_command, "AUTH not allowed during a mail transaction");
  return Reply(503, esc::invalid_command, "Bad sequence of commands");
}

Reply SmtpSession::starttls_offered() const {
  if (tls_) return Reply(503, esc::invalid_command, "Already running TLS");
  if (!opts_.starttls_available) return Reply(454, esc::security_temp, "TLS not available");
  return {};
}

Reply SmtpSession::auth_offered() const {
  if (!opts_.auth_enabled) return Reply(503, esc::invalid_command, "AUTH not available");
  return {};
}

SmtpSession::SmtpSession(SessionOptions opts) : opts_(std::move(opts)), tls_(opts_.tls) {}

void SmtpSession::greet() {
  // RFC 5321 §4.3.1: the greeting names the server.
  send(Reply(220, esc::none, opts_.hostname + " ESMTP tern"));
}

std::string SmtpSession::take_output() {
  std::string o;
  o.swap(out_);
  return o;
}

namespace {
// The states each state may be entered from (RFC 5321 §4.1.4 command order, RFC 3030
// BDAT, RFC 3207 §4.2: STARTTLS from a greeted state goes back to Connected). Closed is
// final. A transition outside this table is a bug in tern (the command table's states
// and the driver's callbacks decide what happens when), never a peer's doing.
constexpr unsigned entered_from(State s) {
  switch (s) {
    case State::Connected: return kGreeted;
    case State::Ready: return kAny | in(State::Data);
    case State::Mail: return in(State::Ready);
    case State::Rcpt: return in(State::Mail) | in(State::Rcpt);
    case State::Data: return in(State::Rcpt);
    case State::Bdat: return in(State::Rcpt) | in(State::Bdat);
    case State::Closed: return kAny | in(State::Data);
  }
  return 0;
}
}  // namespace

void SmtpSession::enter_state(State s) {
  if (s == state_) return;
  TERN_ASSERT(entered_from(s) & in(state_));
  spdlog::debug("{}: state {} -> {}", opts_.id, state_name(state_), state_name(s));
  state_ = s;
}

void SmtpSession::reset_transaction() {
  tx_ = SmtpTransaction{};
  pending_rcpt_ = Recipient{};
}

Action SmtpSession::fail(const Reply& r) {
  send(r);
  return count_error();
}

Action SmtpSession::count_error() {
  if (++errors_ >= opts_.error_limit) {
    // Postfix "hard error limit", Dovecot's bad-command limit: a client that keeps
    // sending bad commands is broken or hostile.
    send(Reply(421, esc::security_temp, opts_.hostname + " Too many errors, closing connection"));
    enter_state(State::Closed);
    return {Action::Kind::Close};
  }
  return {};
}

Action SmtpSession::on_line(std::string_view line) {
  must_flush_ = false;
  if (state_ == State::Closed) return {Action::Kind::Close};
  auto parsed = smtp::parse_smtp_command(line);
  if (auto* e = std::get_if<smtp::ParseError>(&parsed)) return fail(smtp::reply_for(*e));
  const auto& cmd = std::get<SmtpCommand>(parsed);
  const CommandSpec* spec = find(cmd.verb);
  if (!spec) return fail(Reply(502, esc::invalid_command, "Command not implemented"));
  must_flush_ = spec->ends_pipeline_group;
  Reply refusal;
  if (spec->offered) refusal = (this->*spec->offered)();
  if (refusal.empty() && opts_.kind == ListenerKind::Submission && !tls_ && !spec->pre_tls_ok &&
      opts_.starttls_available)
    refusal = Reply(530, esc::auth_required, "Must issue a STARTTLS command first");
  if (refusal.empty() && !(spec->states & in(state_))) refusal = sequence_refusal(cmd.verb);
  if (!refusal.empty()) {
    Action a = refusal.temporary() ? (send(refusal), Action{}) : fail(refusal);
    if (spec->reads_payload && a.kind != Action::Kind::Close) {
      // RFC 3030 §2/§4: the chunk follows the command whatever we answer, so even a
      // refused BDAT has its octets read and dropped.
      a.kind = Action::Kind::ReadBdat;
      a.bdat_size = cmd.bdat_size;
      a.bdat_last = cmd.bdat_last;
      a.bdat_discard = true;
    }
    return a;
  }
  Action a = (this->*spec->handler)(cmd);
  if (spec->counts_as_junk && ++junk_ > opts_.junk_limit && a.kind != Action::Kind::Close) {
    // Postfix smtpd_junk_command_limit: past the limit each junk command is an error.
    Action e = count_error();
    if (e.kind == Action::Kind::Close) return e;
  }
  return a;
}

Action SmtpSession::on_line_too_long() {
  return fail(Reply(500, esc::syntax_error, "Line too long"));
}

Action SmtpSession::on_bare_line_ending() {
  // RFC 5321 §2.3.8: lines end with CRLF only. Executing such a line would let a
  // client hide commands from a filter that frames differently.
  return fail(Reply(500, esc::syntax_error, "Bare LF or CR in command: lines must end with CRLF"));
}

Action SmtpSession::on_timeout() {
  send(Reply(421, esc::timeout, opts_.hostname + " Timeout exceeded, closing connection"));
  enter_state(State::Closed);
  return {Action::Kind::Close};
}

Action SmtpSession::on_shutdown() {
  send(Reply(421, esc::shutting_down, opts_.hostname + " Service shutting down"));
  enter_state(State::Closed);
  return {Action::Kind::Close};
}

Reply SmtpSession::ehlo_reply() const {
  Reply r(250, esc::none, opts_.hostname);
  r.lines.push_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(opts_.max_message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("SMTPUTF8");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("CHUNKING");
  r.lines.push_back("DSN");
  if (!tls_ && opts_.starttls_available) r.lines.push_back("STARTTLS");
  // RFC 4954 §4 + design: AUTH only over TLS, never advertised in clear text.
  if (auth_available()) r.lines.push_back("AUTH PLAIN LOGIN SCRAM-SHA-256");
  r.lines.push_back("HELP");
  return r;
}

Action SmtpSession::cmd_helo(const SmtpCommand& c) {
  reset_transaction();
  helo_ = c.domain;
  esmtp_ = false;
  enter_state(State::Ready);
  send(Reply(250, esc::none, opts_.hostname));
  return {};
}

Action SmtpSession::cmd_ehlo(const SmtpCommand& c) {
  // RFC 5321 §4.1.4: EHLO in a transaction resets it, like RSET.
  reset_transaction();
  helo_ = c.domain;
  esmtp_ = true;
  enter_state(State::Ready);
  send(ehlo_reply());
  return {};
}

Action SmtpSession::cmd_mail(const SmtpCommand& c) {
  if (opts_.auth_required && !identity_) return fail(Reply(530, esc::auth_required, "Authentication required"));
  const auto& p = c.mail;
  // ESMTP parameters exist only after EHLO (RFC 5321 §4.1.1.11 / §2.2.1).
  bool any_param = p.size || p.body != smtp::Body::Unspecified || p.smtputf8 || p.ret != smtp::Ret::Unspecified ||
                   !p.envid.empty() || p.auth;
  if (any_param && !esmtp_) return fail(Reply(555, esc::bad_args, "Parameters need EHLO"));
  // RFC 1870 §6.2: a declared size over the limit is refused at MAIL.
  if (p.size && *p.size > opts_.max_message_size)
    return fail(Reply(552, esc::too_big, "Message size exceeds fixed maximum message size"));
  // RFC 6531 §3.4: a non-ASCII address needs SMTPUTF8.
  if (c.path.utf8 && !p.smtputf8) return fail(Reply(553, esc::non_ascii_address, "Non-ASCII address needs SMTPUTF8"));
  tx_ = SmtpTransaction{};
  tx_.sender = c.path;
  tx_.params = p;
  return {Action::Kind::CheckSender};
}

Action SmtpSession::sender_checked(const Reply& rejection) {
  TERN_ASSERT(state_ == State::Ready);  // after MAIL (valid only in Ready), before any other command
  if (!rejection.empty()) {
    tx_ = SmtpTransaction{};
    return rejection.temporary() ? (send(rejection), Action{}) : fail(rejection);
  }
  enter_state(State::Mail);
  send(Reply(250, esc::sender_ok, "Sender OK"));
  return {};
}

Action SmtpSession::cmd_rcpt(const SmtpCommand& c) {
  if (tx_.recipients.size() >= opts_.max_recipients) {
    // RFC 5321 §4.5.3.1.8: 452 for too many recipients (the client retries the rest).
    send(Reply(452, esc::too_many_rcpts, "Too many recipients"));
    return {};
  }
  if ((c.rcpt.notify || !c.rcpt.orcpt.empty()) && !esmtp_)
    return fail(Reply(555, esc::bad_args, "Parameters need EHLO"));
  if (c.path.utf8 && !tx_.params.smtputf8)
    return fail(Reply(553, esc::non_ascii_address, "Non-ASCII address needs SMTPUTF8"));
  pending_rcpt_ = Recipient{c.path, c.rcpt, {}};
  return {Action::Kind::CheckRecipient};
}

Action SmtpSession::recipient_checked(const Reply& rejection, RecipientRoute route) {
  TERN_ASSERT(state_ == State::Mail || state_ == State::Rcpt);  // after RCPT
  if (!rejection.empty()) {
    pending_rcpt_ = Recipient{};
    if (rejection.temporary()) {
      send(rejection);
      return {};
    }
    return fail(rejection);
  }
  pending_rcpt_.route = std::move(route);
  tx_.recipients.push_back(std::move(pending_rcpt_));
  pending_rcpt_ = Recipient{};
  enter_state(State::Rcpt);
  send(Reply(250, esc::rcpt_ok, "Recipient OK"));
  return {};
}

Action SmtpSession::cmd_data(const SmtpCommand&) {
  enter_state(State::Data);
  send(Reply(354, esc::none, "End data with <CR><LF>.<CR><LF>"));
  return {Action::Kind::ReadData};
}

void SmtpSession::message_done(const Reply& reply) {
  TERN_ASSERT(state_ == State::Data || state_ == State::Bdat);  // the end of a message's data
  send(reply);
  if (reply.code / 100 == 2) junk_ = 0;  // progress: the junk count starts again
  reset_transaction();
  enter_state(State::Ready);
}

Action SmtpSession::cmd_bdat(const SmtpCommand& c) {
  if (!esmtp_) {
    Action a = fail(Reply(503, esc::invalid_command, "BDAT needs EHLO"));
    if (a.kind == Action::Kind::Close) return a;
    a.kind = Action::Kind::ReadBdat;  // RFC 3030 §2: the octets follow anyway
    a.bdat_size = c.bdat_size;
    a.bdat_last = c.bdat_last;
    a.bdat_discard = true;
    return a;
  }
  enter_state(State::Bdat);
  Action a{Action::Kind::ReadBdat};
  a.bdat_size = c.bdat_size;
  a.bdat_last = c.bdat_last;
  return a;
}

void SmtpSession::bdat_chunk_done(std::uint64_t octets) {
  TERN_ASSERT(state_ == State::Bdat);
  tx_.bdat_bytes += octets;
  send(Reply(250, esc::ok, std::to_string(octets) + " octets received"));
}

Action SmtpSession::cmd_rset(const SmtpCommand&) {
  reset_transaction();
  if (state_ != State::Connected) enter_state(State::Ready);
  send(Reply(250, esc::ok, "Ok"));
  return {};
}

Action SmtpSession::cmd_noop(const SmtpCommand&) {
  send(Reply(250, esc::ok, "Ok"));
  return {};
}

Action SmtpSession::cmd_quit(const SmtpCommand&) {
  send(Reply(221, esc::bye, opts_.hostname + " Bye"));
  enter_state(State::Closed);
  return {Action::Kind::Close};
}

Action SmtpSession::cmd_vrfy(const SmtpCommand& c) {
  // RFC 5321 §3.5.3: 252 when we won't verify. Never reveal which users exist.
  if (c.verb == Verb::Expn) {
    send(Reply(502, esc::invalid_command, "EXPN not available"));
    return {};
  }
  send(Reply(252, esc::rcpt_ok, "Cannot VRFY user, but will accept message and attempt delivery"));
  return {};
}

Action SmtpSession::cmd_help(const SmtpCommand&) {
  Reply r(214, esc::ok, "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
  r.lines.push_back("See RFC 5321");
  send(r);
  return {};
}

Action SmtpSession::cmd_starttls(const SmtpCommand&) {
  send(Reply(220, esc::ok, "Ready to start TLS"));
  return {Action::Kind::StartTls};
}

void SmtpSession::tls_started() {
  // RFC 3207 §4.2: after the handshake the server discards all knowledge obtained from
  // the client (HELO argument, transaction); the client must EHLO again.
  TERN_ASSERT(!tls_);  // STARTTLS is refused (503) once TLS is on
  tls_ = true;
  reset_transaction();
  helo_.clear();
  esmtp_ = false;
  enter_state(State::Connected);
}

Action SmtpSession::cmd_auth(const SmtpCommand& c) {
  // RFC 4954 §4: the mechanisms we offer send passwords; refuse them before TLS.
  if (!tls_) return fail(Reply(538, esc::encryption_required, "Encryption required for requested authentication mechanism"));
  if (identity_) return fail(Reply(503, esc::invalid_command, "Already authenticated"));
  if (c.auth_mechanism != "PLAIN" && c.auth_mechanism != "LOGIN" && c.auth_mechanism != "SCRAM-SHA-256")
    return fail(Reply(504, esc::bad_args, "Unrecognized authentication type"));
  Action a{Action::Kind::Auth};
  a.mechanism = c.auth_mechanism;
  a.initial = c.auth_initial;
  return a;
}

Action SmtpSession::auth_done(const std::optional<AuthIdentity>& identity, const Reply& reply) {
  TERN_ASSERT(state_ == State::Ready && !identity_);  // AUTH: Ready only, refused once logged in
  if (identity) {
    identity_ = identity;
    send(reply);
    return {};
  }
  if (reply.temporary()) {
    send(reply);
    return {};
  }
  return fail(reply);
}

std::string SmtpSession::protocol_keyword() const {
  // RFC 3848: ESMTP + S (TLS) + A (authenticated); RFC 6531 §4.3: UTF8SMTP variants.
  if (!esmtp_) return "SMTP";
  std::string k = tx_.params.smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (tls_) k += "S";
  if (identity_) k += "A";
  return k;
}

}  // namespace tern::mta
