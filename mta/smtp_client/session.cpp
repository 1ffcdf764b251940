// Outbound SMTP client state machine (session.hpp). One enum State, one
// enter_state(); replies are matched to the commands that caused them in order
// (RFC 2920 §3.1: a pipelining server answers in command order).
#include "session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "tern/smtp/command.hpp"
#include "tern/util/base64.hpp"

namespace tern::mta::client {
namespace {

using smtp::Reply;

// ORCPT as the next hop gets it: addr-type ";" xtext (RFC 3461 §4.2). The queue keeps
// it as received, already xtext, so it passes unchanged; a value that is not valid
// xtext (never from our parser) is encoded rather than sent raw; a bad addr-type drops it.
std::string orcpt_param(std::string_view orcpt) {
  auto semi = orcpt.find(';');
  if (semi == std::string_view::npos || semi == 0) return {};
  auto type = orcpt.substr(0, semi), addr = orcpt.substr(semi + 1);
  bool atom = std::all_of(type.begin(), type.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-';
  });
  if (!atom || addr.empty()) return {};
  return std::string(type) + ";" + (smtp::xtext_decode(addr) ? std::string(addr) : smtp::xtext_encode(addr));
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}


Reply local_reply(int code, std::string_view esc, std::string text) {
  return Reply(code, esc, text);
}

}  // namespace

const char* ClientSession::state_name(State s) {
  switch (s) {
    case State::greeting: return "greeting";
    case State::ehlo: return "ehlo";
    case State::helo: return "helo";
    case State::starttls: return "starttls";
    case State::tls_handshake: return "tls_handshake";
    case State::auth: return "auth";
    case State::auth_login_user: return "auth_login_user";
    case State::auth_login_pass: return "auth_login_pass";
    case State::ready: return "ready";
    case State::mail: return "mail";
    case State::rcpt: return "rcpt";
    case State::data: return "data";
    case State::data_body: return "data_body";
    case State::rset: return "rset";
    case State::quit: return "quit";
    case State::closed: return "closed";
  }
  return "?";
}

ClientSession::ClientSession(Policy p) : policy_(std::move(p)) { tls_ = policy_.implicit_tls; }

void ClientSession::enter_state(State s) {
  SPDLOG_TRACE("smtp client: {} -> {}", state_name(state_), state_name(s));
  state_ = s;
}

std::chrono::seconds ClientSession::wait_timeout() const {
  using std::chrono::minutes;
  switch (state_) {
    case State::greeting: return minutes(5);   // 4.5.3.2.1
    case State::mail: return minutes(5);       // 4.5.3.2.2
    case State::rcpt: return minutes(5);       // 4.5.3.2.3
    case State::data: return minutes(2);       // 4.5.3.2.4
    case State::data_body: return minutes(10); // 4.5.3.2.6 (block writes: 3 min, driver)
    default: return minutes(5);                // EHLO, STARTTLS, AUTH, RSET, QUIT
  }
}

Action ClientSession::on_connected() {
  enter_state(State::greeting);
  return {Action::wait, {}, false};
}

Action ClientSession::fail(Reply r) {
  failure_ = std::move(r);
  // Every recipient of an unfinished message gets the failure.
  if (state_ == State::mail || state_ == State::rcpt || state_ == State::data ||
      state_ == State::data_body) {
    for (auto& rr : result_.rcpt)
      if (rr.empty() || rr.positive()) rr = failure_;
  }
  enter_state(State::closed);
  return {Action::close, {}, false};
}

Action ClientSession::on_transport_error(std::string error) {
  if (state_ == State::closed) return {Action::close, {}, false};
  if (state_ == State::quit) {  // the peer hung up on QUIT: nothing lost
    enter_state(State::closed);
    return {Action::close, {}, false};
  }
  return fail(local_reply(451, "4.4.2", error));
}

Action ClientSession::on_tls_done(bool ok, std::string error) {
  if (state_ != State::tls_handshake) return fail(local_reply(451, "4.3.0", "TLS done in wrong state"));
  if (!ok) return fail(local_reply(451, "4.7.5", "TLS handshake failed: " + error));  // RFC 7672 4.7.5
  tls_ = true;
  ext_ = Extensions{};  // RFC 3207 §4.2: forget everything learned before TLS
  enter_state(State::ehlo);
  return {Action::send, "EHLO " + policy_.helo_name + "\r\n", false};
}

void ClientSession::parse_ehlo(const Reply& r) {
  ext_ = Extensions{};
  ext_.esmtp = true;
  for (std::size_t i = 1; i < r.lines.size(); ++i) {  // line 0 is the greeting name
    std::string line = upper(r.lines[i]);
    std::string kw = line.substr(0, line.find(' '));
    std::string arg = line.size() > kw.size() ? line.substr(kw.size() + 1) : "";
    if (kw == "PIPELINING") ext_.pipelining = true;
    else if (kw == "8BITMIME") ext_.eightbitmime = true;
    else if (kw == "SMTPUTF8") ext_.smtputf8 = true;
    else if (kw == "CHUNKING") ext_.chunking = true;
    else if (kw == "DSN") ext_.dsn = true;
    else if (kw == "STARTTLS") ext_.starttls = true;
    else if (kw == "ENHANCEDSTATUSCODES") ext_.enhancedstatuscodes = true;
    else if (kw == "SIZE") {
      std::uint64_t n = 0;
      bool ok = !arg.empty() && arg.size() <= 19;
      for (char c : arg) {
        if (c < '0' || c > '9') { ok = false; break; }
        n = n * 10 + static_cast<unsigned>(c - '0');
      }
      ext_.size = ok ? n : 0;
    } else if (kw == "AUTH") {
      std::size_t p = 0;
      while (p < arg.size()) {
        auto q = arg.find(' ', p);
        if (q == std::string::npos) q = arg.size();
        if (q > p) ext_.auth.insert(arg.substr(p, q - p));
        p = q + 1;
      }
    }
  }
}

Action ClientSession::after_ehlo() {
  if (!tls_ && policy_.tls != TlsPolicy::none && ext_.starttls) {
    enter_state(State::starttls);
    return {Action::send, "STARTTLS\r\n", false};
  }
  if (!tls_ && (policy_.tls == TlsPolicy::required || !policy_.auth_user.empty()))
    return fail(local_reply(451, "4.7.10", "TLS is required but the server does not offer STARTTLS"));
  if (!policy_.auth_user.empty()) return begin_auth();
  enter_state(State::ready);
  return {Action::ready, {}, false};
}

Action ClientSession::begin_auth() {
  std::string b64 = util::base64_encode(std::string(1, '\0') + policy_.auth_user + '\0' + policy_.auth_password);
  if (ext_.auth.count("PLAIN")) {
    enter_state(State::auth);
    return {Action::send, "AUTH PLAIN " + b64 + "\r\n", false};
  }
  if (ext_.auth.count("LOGIN")) {
    enter_state(State::auth_login_user);
    return {Action::send, "AUTH LOGIN\r\n", false};
  }
  return fail(local_reply(554, "5.7.4", "the relay offers neither AUTH PLAIN nor AUTH LOGIN"));
}

std::string ClientSession::mail_command() const {
  std::string c = "MAIL FROM:<" + env_.mail_from + ">";
  if (ext_.size && env_.size) c += " SIZE=" + std::to_string(env_.size);
  if (env_.needs_8bitmime && ext_.eightbitmime) c += " BODY=8BITMIME";
  if (env_.needs_smtputf8 && ext_.smtputf8) c += " SMTPUTF8";
  if (ext_.dsn) {
    if (!env_.ret.empty()) c += " RET=" + env_.ret;
    if (!env_.envid.empty()) c += " ENVID=" + smtp::xtext_encode(env_.envid);
  }
  return c + "\r\n";
}

std::string ClientSession::rcpt_command(const EnvelopeRcpt& r) const {
  std::string c = "RCPT TO:<" + r.address + ">";
  if (ext_.dsn) {
    if (!r.notify.empty()) c += " NOTIFY=" + r.notify;
    if (auto o = orcpt_param(r.orcpt); !o.empty()) c += " ORCPT=" + o;
  }
  return c + "\r\n";
}

std::string ClientSession::body_command() const {
  if (ext_.chunking) return "BDAT " + std::to_string(env_.size) + " LAST\r\n";
  return "DATA\r\n";
}

Action ClientSession::start_message(const Envelope& env) {
  if (state_ != State::ready) return {Action::close, {}, false};
  env_ = env;
  result_ = MessageResult{};
  result_.rcpt.assign(env_.rcpts.size(), Reply{});
  next_rcpt_ = rcpt_sent_ = accepted_ = 0;
  pipelined_ = ext_.pipelining;
  data_pipelined_ = false;
  // Extensions the message needs (checked before MAIL, so nothing half-sent).
  std::optional<Reply> refuse;
  if (ext_.size && *ext_.size > 0 && env_.size > *ext_.size)
    refuse = local_reply(552, "5.3.4", "message size " + std::to_string(env_.size) +
                                           " exceeds the receiving server's limit of " +
                                           std::to_string(*ext_.size));
  else if (env_.needs_8bitmime && !ext_.eightbitmime)
    refuse = local_reply(554, "5.6.3", "the message has 8-bit data and the receiving server "
                                      "does not offer 8BITMIME (RFC 6152)");
  else if (env_.needs_smtputf8 && !ext_.smtputf8)
    refuse = local_reply(553, "5.6.7", "the addresses need SMTPUTF8 and the receiving server "
                                      "does not offer it (RFC 6531)");
  if (refuse) {
    for (auto& r : result_.rcpt) r = *refuse;
    return {Action::message_done, {}, false};
  }
  bool any_notify = std::any_of(env_.rcpts.begin(), env_.rcpts.end(),
                                [](const EnvelopeRcpt& r) { return !r.notify.empty(); });
  result_.dsn_relayed = !ext_.dsn && (any_notify || !env_.ret.empty());
  enter_state(State::mail);
  std::string out = mail_command();
  if (pipelined_) {
    for (const auto& r : env_.rcpts) out += rcpt_command(r);
    rcpt_sent_ = env_.rcpts.size();
    // DATA may end the group (RFC 2920 §3.1); BDAT carries the body, so it waits
    // for the RCPT replies.
    if (!ext_.chunking) {
      out += "DATA\r\n";
      data_pipelined_ = true;
    }
  }
  return {Action::send, out, false};
}

Action ClientSession::send_next_rcpt_or_data() {
  if (rcpt_sent_ < env_.rcpts.size()) {
    return {Action::send, rcpt_command(env_.rcpts[rcpt_sent_++]), false};
  }
  // Every RCPT answered.
  if (accepted_ == 0) {
    if (data_pipelined_) {  // the DATA reply (554/503) still has to come
      enter_state(State::data);
      return {Action::wait, {}, false};
    }
    enter_state(State::rset);
    return {Action::send, "RSET\r\n", false};
  }
  if (data_pipelined_) {
    enter_state(State::data);
    return {Action::wait, {}, false};
  }
  if (ext_.chunking) {
    enter_state(State::data_body);
    return {Action::send_body, body_command(), true};
  }
  enter_state(State::data);
  return {Action::send, "DATA\r\n", false};
}

Action ClientSession::finish_message(const Reply* data_reply) {
  if (data_reply) {
    for (auto& r : result_.rcpt)
      if (r.positive()) r = *data_reply;  // the final reply holds for every accepted rcpt
  }
  enter_state(State::ready);
  return {Action::message_done, {}, false};
}

Action ClientSession::quit() {
  if (state_ == State::closed) return {Action::close, {}, false};
  enter_state(State::quit);
  return {Action::send, "QUIT\r\n", false};
}

Action ClientSession::on_reply(const Reply& r) {
  // 421: the server is closing the channel (RFC 5321 §3.8), whatever we asked.
  if (r.code == 421 && state_ != State::quit) return fail(r);
  switch (state_) {
    case State::greeting:
      if (r.code != 220) return fail(r);
      enter_state(State::ehlo);
      return {Action::send, "EHLO " + policy_.helo_name + "\r\n", false};
    case State::ehlo:
      if (r.code == 250) {
        parse_ehlo(r);
        return after_ehlo();
      }
      if (r.permanent() && !tls_) {  // RFC 5321 §3.2: try HELO
        enter_state(State::helo);
        return {Action::send, "HELO " + policy_.helo_name + "\r\n", false};
      }
      return fail(r);
    case State::helo:
      if (r.code != 250) return fail(r);
      ext_ = Extensions{};
      if (policy_.tls == TlsPolicy::required || !policy_.auth_user.empty())
        return fail(local_reply(451, "4.7.10", "TLS is required but the server speaks only HELO"));
      enter_state(State::ready);
      return {Action::ready, {}, false};
    case State::starttls:
      if (r.code == 220) {
        enter_state(State::tls_handshake);
        return {Action::start_tls, {}, false};
      }
      if (policy_.tls == TlsPolicy::required || !policy_.auth_user.empty())
        return fail(local_reply(451, "4.7.10", "STARTTLS refused: " + r.summary()));
      // Opportunistic: go on in clear (the EHLO extensions stay valid).
      if (!policy_.auth_user.empty()) return begin_auth();
      enter_state(State::ready);
      return {Action::ready, {}, false};
    case State::auth_login_pass:
      if (r.code == 334) {
        enter_state(State::auth);
        return {Action::send, util::base64_encode(policy_.auth_password) + "\r\n", false};
      }
      [[fallthrough]];
    case State::auth:
      if (r.code == 235) {
        enter_state(State::ready);
        return {Action::ready, {}, false};
      }
      if (r.permanent())
        return fail(local_reply(r.code, r.esc.empty() ? "5.7.8" : r.esc,
                                "the relay refused authentication: " + r.summary()));
      return fail(r);
    case State::auth_login_user:
      if (r.code != 334) return fail(r);
      enter_state(State::auth_login_pass);
      return {Action::send, util::base64_encode(policy_.auth_user) + "\r\n", false};
    case State::ready:
      return fail(local_reply(451, "4.5.0", "unexpected reply: " + r.summary()));
    case State::mail:
      if (!r.positive()) {
        // The whole message fails with the MAIL reply. Pipelined RCPT and DATA
        // replies still follow (they will be 503s): wait for them in rcpt state.
        for (auto& rr : result_.rcpt) rr = r;
        if (pipelined_) {
          enter_state(State::rcpt);
          next_rcpt_ = 0;
          accepted_ = 0;
          mail_failed_ = true;
          return {Action::wait, {}, false};
        }
        enter_state(State::rset);
        return {Action::send, "RSET\r\n", false};
      }
      enter_state(State::rcpt);
      if (!pipelined_) return send_next_rcpt_or_data();
      return {Action::wait, {}, false};
    case State::rcpt: {
      if (next_rcpt_ < result_.rcpt.size()) {
        if (!mail_failed_) result_.rcpt[next_rcpt_] = r;
        if (!mail_failed_ && r.positive()) ++accepted_;
        ++next_rcpt_;
      }
      if (next_rcpt_ < env_.rcpts.size()) {
        if (pipelined_) return {Action::wait, {}, false};
        return send_next_rcpt_or_data();
      }
      return send_next_rcpt_or_data();
    }
    case State::data:
      if (r.code == 354) {
        if (accepted_ == 0) {
          // RFC 2920 §3.1: a 354 after every RCPT failed; send an empty message?
          // No: end the data at once so nothing is delivered, then RSET.
          enter_state(State::data_body);
          empty_body_ = true;
          return {Action::send, ".\r\n", false};
        }
        enter_state(State::data_body);
        return {Action::send_body, {}, false};
      }
      if (accepted_ == 0) {  // the expected 554/503 to a DATA with no recipients
        mail_failed_ = false;
        return finish_message(nullptr);
      }
      return finish_message(&r);
    case State::data_body:
      if (empty_body_) {
        empty_body_ = false;
        enter_state(State::rset);
        return {Action::send, "RSET\r\n", false};
      }
      return finish_message(&r);
    case State::rset:
      mail_failed_ = false;
      if (r.code != 250) return fail(r);
      return finish_message(nullptr);
    case State::quit:
      enter_state(State::closed);
      return {Action::close, {}, false};
    case State::tls_handshake:
    case State::closed:
      return fail(local_reply(451, "4.5.0", "unexpected reply: " + r.summary()));
  }
  return fail(local_reply(451, "4.5.0", "bad state"));
}

}  // namespace tern::mta::client
