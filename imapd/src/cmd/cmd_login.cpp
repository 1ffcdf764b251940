// LOGIN and AUTHENTICATE (RFC 9051 §6.2.2, §6.2.3; RFC 4959 SASL-IR) through the one
// login driver SMTP and POP3 use (tern/auth/login_exchange.hpp), so throttling,
// timing and answers are the same in the three protocols.
#include "cmd/commands.hpp"
#include "tern/auth/login_exchange.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/log.hpp"
#include "tern/sasl/sasl.hpp"

namespace tern::imapd {

namespace {

constexpr auth::LoginProtocol kImap{"imap", "+ ", 12288};

// The exchange reads the client's responses through the session's parser buffer
// (a pipelined or SASL-IR client may already have sent them) and writes through the
// session's output (COMPRESS, flushing).
class SessionLoginIo : public auth::LoginIo {
 public:
  explicit SessionLoginIo(Session& s) : s_(s) {}
  asio::awaitable<net::LineRead> read_line(std::size_t max) override {
    auto l = co_await s_.read_line(max);
    net::LineRead r;
    if (!l) {
      r.status = net::ReadStatus::Eof;
    } else if (*l == "\x01toolong") {
      r.status = net::ReadStatus::TooLong;
    } else {
      r.status = net::ReadStatus::Ok;
      r.line = std::move(*l);
    }
    co_return r;
  }
  asio::awaitable<bool> send_line(std::string line) override {
    s_.write(line);
    s_.write("\r\n");
    bool ok = co_await s_.flush();
    co_return ok;
  }

 private:
  Session& s_;
};

void finish(Session& s, const imap::Command& c, const auth::LoginResult& r, std::string_view method) {
  if (r.outcome == auth::LoginOutcome::Closed) {
    s.close("dropped during login");
    return;
  }
  if (r.outcome == auth::LoginOutcome::Timeout) {
    s.untagged("BYE Autologout; no response in time");
    s.close("login timeout");
    return;
  }
  if (r.ok()) {
    s.account = r.account->id;
    s.user = r.account->address;
    s.enter_state(State::Authenticated);
    log::info(s.id(), "imap login user={} method={} tls={}", r.account->address, method,
              s.tls() ? "yes" : "no");
    // RFC 9051 §6.2.3: the OK may carry the capabilities, which change after login.
    s.ok(c, "[CAPABILITY " + s.capabilities() + "] Logged in");
    return;
  }
  log::info(s.id(), "imap login failed user={} method={} outcome={} {}", imap::safe_text(r.login, 100),
            method, auth::outcome_name(r.outcome), r.detail);
  std::string line = auth::imap_login_line(c.tag, r.outcome);
  // The line is "<tag> <status> <text>"; count BAD answers toward the error limit.
  std::string_view rest = std::string_view(line).substr(c.tag.size() + 1);
  std::string_view status = rest.substr(0, rest.find(' '));
  std::string_view text = rest.substr(status.size() + 1);
  if (status == "BAD") s.bad(c, text);
  else s.tagged(c.tag, status, text);
}

}  // namespace

asio::awaitable<void> cmd_login(Session& s, imap::Command& c) {
  if (c.args.size() != 2 || !c.args[0].is_astring() || !c.args[1].is_astring()) {
    s.bad(c, "LOGIN needs a user name and a password");
    co_return;
  }
  if (!s.plaintext_auth_ok()) {
    // RFC 9051 §6.2.3 / LOGINDISABLED: no cleartext passwords before TLS.
    s.no(c, "[PRIVACYREQUIRED] Use STARTTLS or IMAPS first");
    co_return;
  }
  std::string login = c.args[0].text;
  std::string password = c.args[1].text;
  auth::LoginResult r =
      co_await auth::password_login(s.conn(), s.svc().authenticator(), std::move(login), std::move(password));
  finish(s, c, r, "LOGIN");
}

asio::awaitable<void> cmd_authenticate(Session& s, imap::Command& c) {
  if (c.args.empty() || c.args.size() > 2 || !c.args[0].is_atom() ||
      (c.args.size() == 2 && !c.args[1].is_astring())) {
    s.bad(c, "AUTHENTICATE needs a mechanism name");
    co_return;
  }
  std::string mech = c.args[0].text;
  for (auto& ch : mech) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  bool known = false, allowed = false;
  for (auto m : sasl::mechanism_names(true)) known |= m == mech;
  for (auto m : sasl::mechanism_names(s.plaintext_auth_ok())) allowed |= m == mech;
  if (known && !allowed) {
    s.no(c, "[PRIVACYREQUIRED] Use STARTTLS or IMAPS first");
    co_return;
  }
  std::optional<std::string> ir;
  if (c.args.size() == 2) ir = c.args[1].text;  // RFC 4959: "=" is an empty response
  SessionLoginIo io(s);
  SessionLoginIo* pio = &io;
  auth::LoginResult r = co_await auth::sasl_login(s.conn(), s.svc().authenticator(), kImap,
                                                  std::move(mech), std::move(ir), pio);
  finish(s, c, r, "AUTHENTICATE " + r.mechanism);
}

}  // namespace tern::imapd
