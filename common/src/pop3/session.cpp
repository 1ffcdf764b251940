#include "tern/pop3/session.hpp"

#include <string>
#include <utility>

#include "tern/log/assert.hpp"

namespace tern::pop3 {

std::string_view state_name(State s) {
  switch (s) {
    case State::Authorization: return "AUTHORIZATION";
    case State::Transaction: return "TRANSACTION";
    case State::Update: return "UPDATE";
    case State::Closed: return "CLOSED";
  }
  return "?";
}

namespace {
constexpr std::string_view kPlaintextRefused =
    "plaintext authentication disallowed, use STLS";
constexpr std::string_view kWrongState = "command not valid in this state";
}  // namespace

Session::Session(SessionOptions opts) : opts_(std::move(opts)) {}

std::string Session::greeting() const {
  return ok(sanitise_text(opts_.hostname) + " POP3 server ready");
}

std::size_t Session::deleted_count() const {
  std::size_t n = 0;
  for (bool d : deleted_) n += d ? 1 : 0;
  return n;
}

Action Session::fail(std::string& out, RespCode code, std::string_view text) {
  ++errors_;
  Action a;
  if (opts_.error_limit != 0 && errors_ >= opts_.error_limit) {
    // Like Dovecot's and Postfix's hard error limit: a client sending only junk is cut
    // off. The session does not expunge anything (RFC 1939 §6: only QUIT updates).
    append_err(out, RespCode::SysPerm, "too many errors, closing connection");
    enter_state(State::Closed);
    a.kind = Action::Kind::Close;
    return a;
  }
  append_err(out, code, text);
  return a;
}

Action Session::handle_too_long(std::string& out) {
  pending_user_.reset();
  return fail(out, RespCode::None, "line too long");
}

Action Session::handle_line(std::string_view line, std::string& out) {
  if (state_ == State::Update || state_ == State::Closed) {
    Action a;
    a.kind = Action::Kind::Close;
    return a;
  }
  // RFC 1939 §7: PASS "may only be given in the AUTHORIZATION state immediately after a
  // successful USER command"; any other command (or a bad line) forgets the USER name.
  last_user_ = std::move(pending_user_);
  pending_user_.reset();
  auto parsed = parse_command(line);
  if (auto* e = std::get_if<ParseError>(&parsed)) return fail(out, RespCode::None, describe(*e));
  const Command& cmd = std::get<Command>(parsed);
  const CommandSpec* spec = find(cmd.verb);
  if (!spec || !(spec->states & (1u << static_cast<unsigned>(state_))))
    return fail(out, RespCode::None, kWrongState);
  return (this->*spec->handler)(cmd, out);
}

namespace {
constexpr unsigned in(State s) { return 1u << static_cast<unsigned>(s); }
constexpr unsigned kAuthz = in(State::Authorization);
constexpr unsigned kTrans = in(State::Transaction);
}  // namespace

// RFC 1939 §4-§7, RFC 2449 §5 (CAPA in every state), RFC 2595 §4 (STLS), RFC 5034 (AUTH).
const Session::CommandSpec* Session::find(Verb v) {
  static const CommandSpec table[] = {
      {Verb::Capa, &Session::cmd_capa, kAuthz | kTrans},
      {Verb::Quit, &Session::cmd_quit, kAuthz | kTrans},
      {Verb::Stls, &Session::cmd_stls, kAuthz},
      {Verb::User, &Session::cmd_user, kAuthz},
      {Verb::Pass, &Session::cmd_pass, kAuthz},
      {Verb::Auth, &Session::cmd_auth, kAuthz},
      {Verb::Stat, &Session::cmd_stat, kTrans},
      {Verb::List, &Session::cmd_list, kTrans},
      {Verb::Uidl, &Session::cmd_list, kTrans},
      {Verb::Retr, &Session::cmd_retr, kTrans},
      {Verb::Top, &Session::cmd_retr, kTrans},
      {Verb::Dele, &Session::cmd_dele, kTrans},
      {Verb::Noop, &Session::cmd_noop, kTrans},
      {Verb::Rset, &Session::cmd_rset, kTrans},
  };
  for (const auto& e : table)
    if (e.verb == v) return &e;
  return nullptr;
}

// RFC 1939 §3: AUTHORIZATION -> TRANSACTION (login) -> UPDATE (QUIT) -> closed; any
// state may close (QUIT in AUTHORIZATION, error limit, timeout, shutdown). Anything else
// (back to AUTHORIZATION, out of CLOSED) is a bug in tern, never a client's doing.
void Session::enter_state(State s) {
  const bool legal = s == state_ || s == State::Closed ||
                     (state_ == State::Authorization && s == State::Transaction) ||
                     (state_ == State::Transaction && s == State::Update);
  TERN_ASSERT(legal);
  state_ = s;
}

Action Session::cmd_capa(const Command&, std::string& out) {
  out += capabilities();
  return {};
}

Action Session::cmd_quit(const Command&, std::string& out) {
  Action a;
  if (state_ == State::Authorization) {
    // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without an UPDATE state.
    append_ok(out, sanitise_text(opts_.hostname) + " POP3 server signing off");
    enter_state(State::Closed);
    a.kind = Action::Kind::Close;
    return a;
  }
  // RFC 1939 §6: QUIT from TRANSACTION enters UPDATE, where the marked messages are
  // removed. The reply waits for the store (on_update_done).
  enter_state(State::Update);
  a.kind = Action::Kind::Update;
  for (std::size_t i = 0; i < maildrop_.size(); ++i)
    if (deleted_[i]) a.deletions.push_back(maildrop_[i].uid);
  return a;
}

Action Session::cmd_stls(const Command&, std::string& out) {
  // RFC 2595 §4: STLS only in AUTHORIZATION and only once.
  if (opts_.tls_active) return fail(out, RespCode::None, "TLS already active");
  if (!opts_.stls_available) return fail(out, RespCode::None, "STLS not available");
  append_ok(out, "Begin TLS negotiation");
  Action a;
  a.kind = Action::Kind::StartTls;
  return a;
}

Action Session::cmd_user(const Command& cmd, std::string& out) {
  if (!auth_allowed()) return fail(out, RespCode::SysPerm, kPlaintextRefused);
  // Always +OK: answering -ERR for unknown names would let anyone probe for accounts
  // (RFC 1939 §13 warns about this kind of leak).
  pending_user_ = cmd.arg;
  append_ok(out, "send PASS");
  return {};
}

Action Session::cmd_pass(const Command& cmd, std::string& out) {
  if (!auth_allowed()) return fail(out, RespCode::SysPerm, kPlaintextRefused);
  if (!last_user_) return fail(out, RespCode::None, "USER first");
  Action a;
  a.kind = Action::Kind::Login;
  a.user = std::move(*last_user_);
  last_user_.reset();
  a.password = cmd.arg;
  return a;
}

Action Session::cmd_auth(const Command& cmd, std::string& out) {
  if (!auth_allowed()) return fail(out, RespCode::SysPerm, kPlaintextRefused);
  Action a;
  if (cmd.arg.empty()) {
    // "AUTH" alone: the mechanism list (the RFC 1734 style that some clients still
    // probe with; RFC 5034 clients use CAPA).
    append_ok(out, "supported mechanisms follow");
    for (const auto& m : opts_.sasl_mechanisms) {
      out += m;
      out += "\r\n";
    }
    out += ".\r\n";
    return a;
  }
  bool known = false;
  for (const auto& m : opts_.sasl_mechanisms) known = known || m == cmd.arg;
  if (!known) return fail(out, RespCode::None, "unsupported authentication mechanism");
  a.kind = Action::Kind::Authenticate;
  a.mechanism = cmd.arg;
  a.initial_response = cmd.initial_response;
  return a;
}

void Session::stat_totals(std::size_t& count, std::uint64_t& octets) const {
  count = 0;
  octets = 0;
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (deleted_[i]) continue;
    ++count;
    octets += maildrop_[i].size;
  }
}

std::optional<std::size_t> Session::message(std::uint64_t msg, std::string& out,
                                            Action& fail_action) {
  // RFC 1939 §5: message numbers count from 1; a deleted message may not be referred to.
  if (msg == 0 || msg > maildrop_.size()) {
    fail_action = fail(out, RespCode::None, "no such message");
    return std::nullopt;
  }
  std::size_t i = static_cast<std::size_t>(msg - 1);
  TERN_ASSERT(deleted_.size() == maildrop_.size());  // one mark per message, set at login
  if (deleted_[i]) {
    fail_action = fail(out, RespCode::None, "message " + std::to_string(msg) + " already deleted");
    return std::nullopt;
  }
  return i;
}

Action Session::cmd_stat(const Command&, std::string& out) {
  std::size_t n;
  std::uint64_t octets;
  stat_totals(n, octets);
  append_ok(out, std::to_string(n) + " " + std::to_string(octets));
  return {};
}

Action Session::cmd_list(const Command& cmd, std::string& out) {
  Action a;
  const bool uidl = cmd.verb == Verb::Uidl;
  auto line = [&](std::size_t i) {
    return std::to_string(i + 1) + " " + (uidl ? maildrop_[i].uidl : std::to_string(maildrop_[i].size));
  };
  if (cmd.msg) {
    auto i = message(*cmd.msg, out, a);
    if (!i) return a;
    append_ok(out, line(*i));
    return a;
  }
  if (uidl) {
    append_ok(out, "unique-id listing follows");
  } else {
    std::size_t n;
    std::uint64_t octets;
    stat_totals(n, octets);
    append_ok(out, std::to_string(n) + " messages (" + std::to_string(octets) + " octets)");
  }
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (deleted_[i]) continue;
    out += line(i);
    out += "\r\n";
  }
  out += ".\r\n";
  return a;
}

Action Session::cmd_retr(const Command& cmd, std::string& out) {
  TERN_ASSERT(cmd.msg.has_value());  // the parser requires RETR/TOP's message number
  Action a;
  auto i = message(*cmd.msg, out, a);
  if (!i) return a;
  if (cmd.verb == Verb::Retr) {
    append_ok(out, std::to_string(maildrop_[*i].size) + " octets");
  } else {
    append_ok(out, "top of message follows");
    a.top_lines = cmd.lines;
  }
  a.kind = Action::Kind::Retrieve;
  a.index = *i;
  a.uid = maildrop_[*i].uid;
  return a;
}

Action Session::cmd_dele(const Command& cmd, std::string& out) {
  Action a;
  auto i = message(*cmd.msg, out, a);
  if (!i) return a;
  // RFC 1939 §5 DELE: only marks; the message goes away in the UPDATE state.
  deleted_[*i] = true;
  append_ok(out, "message " + std::to_string(*cmd.msg) + " deleted");
  return a;
}

Action Session::cmd_noop(const Command&, std::string& out) {
  append_ok(out);
  return {};
}

Action Session::cmd_rset(const Command&, std::string& out) {
  deleted_.assign(maildrop_.size(), false);
  std::size_t n;
  std::uint64_t octets;
  stat_totals(n, octets);
  append_ok(out, "maildrop has " + std::to_string(n) + " messages (" + std::to_string(octets) + " octets)");
  return {};
}

void Session::on_tls_started() {
  TERN_ASSERT(state_ == State::Authorization && !opts_.tls_active);  // STLS: once, before login
  opts_.tls_active = true;
  pending_user_.reset();
}

void Session::on_login_ok(std::string user, std::vector<MaildropMessage> maildrop,
                          std::string& out) {
  TERN_ASSERT(state_ == State::Authorization);  // after PASS/AUTH, once
  user_ = std::move(user);
  maildrop_ = std::move(maildrop);
  deleted_.assign(maildrop_.size(), false);
  enter_state(State::Transaction);
  std::size_t n;
  std::uint64_t octets;
  stat_totals(n, octets);
  append_ok(out, "logged in, " + std::to_string(n) + " messages (" + std::to_string(octets) +
                     " octets)");
}

Action Session::on_login_failed(RespCode code, std::string_view text, std::string& out) {
  return fail(out, code, text);
}

void Session::on_update_done(bool ok_, std::string& out) {
  TERN_ASSERT(state_ == State::Update);  // after QUIT in TRANSACTION, once
  if (ok_) {
    append_ok(out, sanitise_text(opts_.hostname) + " POP3 server signing off (" +
                       std::to_string(deleted_count()) + " messages deleted)");
  } else {
    // RFC 1939 §6: "-ERR some deleted messages not removed".
    append_err(out, RespCode::SysTemp, "some deleted messages not removed");
  }
  enter_state(State::Closed);
}

void Session::on_abort(std::string_view text, std::string& out) {
  append_err(out, RespCode::SysTemp, text);
  enter_state(State::Closed);
}

std::string Session::capabilities() const {
  // RFC 2449 §5: the capabilities available in the current state.
  std::string out = ok("Capability list follows");
  out += "TOP\r\n";
  bool authz = state_ == State::Authorization;
  if (authz && auth_allowed()) out += "USER\r\n";
  out += "UIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
  if (authz && auth_allowed() && !opts_.sasl_mechanisms.empty()) {
    out += "SASL";
    for (const auto& m : opts_.sasl_mechanisms) {
      out += ' ';
      out += m;
    }
    out += "\r\n";
  }
  if (authz && !opts_.tls_active && opts_.stls_available) out += "STLS\r\n";
  if (opts_.expire_days) {
    // RFC 2449 §6.7: "EXPIRE 0" means messages are never retained after retrieval.
    out += "EXPIRE " + std::to_string(*opts_.expire_days) + "\r\n";
  }
  if (opts_.login_delay_secs) out += "LOGIN-DELAY " + std::to_string(*opts_.login_delay_secs) + "\r\n";
  out += "IMPLEMENTATION tern\r\n.\r\n";
  return out;
}

}  // namespace tern::pop3
