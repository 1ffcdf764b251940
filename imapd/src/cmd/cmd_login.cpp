// LOGIN and AUTHENTICATE (RFC 9051 §6.2.2, §6.2.3; RFC 4959 SASL-IR). Both end in
// finish_login(), so the switch to the shared login exchange (the SASL loop SMTP and
// POP3 use) replaces run_sasl() and verify_password() only.
#include "cmd/commands.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/log.hpp"
#include "tern/sasl/sasl.hpp"

namespace tern::imapd {

namespace {

// Longest SASL response line accepted (base64 of sasl Options::max_decoded + slack).
constexpr std::size_t kMaxSaslLine = 12 * 1024;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

void login_ok(Session& s, const imap::Command& c, const auth::AccountRecord& a,
              std::string_view method) {
  s.account = a.id;
  s.user = a.address;
  s.enter_state(State::Authenticated);
  log::info(s.id(), "imap login user={} method={} tls={}", a.address, method, s.tls() ? "yes" : "no");
  // RFC 9051 §6.2.3: the OK may carry the capabilities, which change after login.
  s.ok(c, "[CAPABILITY " + s.capabilities() + "] Logged in");
}

// BLOCKING part through run_blocking: verify login/password (yescrypt etc.).
asio::awaitable<void> verify_password(Session& s, const imap::Command& c, const std::string& login,
                                      const std::string& password, std::string_view method) {
  auto& auth = s.svc().authenticator();
  const std::string ip = s.conn().peer_ip();
  auto d = auth.check_allowed(ip, login);
  if (d.refuse) {
    log::info(s.id(), "imap login refused user={}: too many failures from {}",
              imap::safe_text(login, 100), ip);
    s.no(c, "[UNAVAILABLE] Too many failed logins, try again later");
    co_return;
  }
  co_await sleep_for(d.delay);
  ImapService* svc = &s.svc();
  const std::string* pip = &ip;
  const std::string* plogin = &login;
  const std::string* ppw = &password;
  const std::string* pid = &s.id();
  auto job = [svc, pip, plogin, ppw, pid]() {
    return svc->authenticator().verify(*pip, *plogin, *ppw, *pid);
  };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (r.status == auth::AuthStatus::Ok) {
    login_ok(s, c, *r.account, method);
  } else if (r.status == auth::AuthStatus::BadCredentials || r.status == auth::AuthStatus::Disabled) {
    log::info(s.id(), "imap login failed user={} method={} reason={}", imap::safe_text(login, 100),
              method, auth::status_name(r.status));
    s.no(c, "[AUTHENTICATIONFAILED] Authentication failed");
  } else if (r.status == auth::AuthStatus::Refused) {
    s.no(c, "[UNAVAILABLE] Too many failed logins, try again later");
  } else {
    log::warn(s.id(), "imap login user={} temporary failure (store)", imap::safe_text(login, 100));
    s.no(c, "[UNAVAILABLE] Temporary failure, try again later");
  }
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
  const std::string login = c.args[0].text;
  const std::string password = c.args[1].text;
  co_await verify_password(s, c, login, password, "LOGIN");
}

asio::awaitable<void> cmd_authenticate(Session& s, imap::Command& c) {
  if (c.args.empty() || c.args.size() > 2 || !c.args[0].is_atom() ||
      (c.args.size() == 2 && !c.args[1].is_astring())) {
    s.bad(c, "AUTHENTICATE needs a mechanism name");
    co_return;
  }
  std::string mech_name = c.args[0].text;
  for (auto& ch : mech_name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  bool mech_allowed = false;
  for (auto m : sasl::mechanism_names(s.plaintext_auth_ok()))
    if (m == mech_name) mech_allowed = true;
  if (!mech_allowed) {
    if (!s.plaintext_auth_ok() && (mech_name == "PLAIN" || mech_name == "LOGIN"))
      s.no(c, "[PRIVACYREQUIRED] Use STARTTLS or IMAPS first");
    else
      s.no(c, "Unsupported authentication mechanism");
    co_return;
  }
  auto& auth = s.svc().authenticator();
  const std::string ip = s.conn().peer_ip();
  if (auth.check_allowed(ip, "").refuse) {
    s.no(c, "[UNAVAILABLE] Too many failed logins, try again later");
    co_return;
  }
  sasl::Options opts;
  ImapService* svc = &s.svc();
  opts.scram_lookup = [svc](std::string_view login) {
    return svc->authenticator().scram_credential(login);
  };
  auto mech = sasl::make_mechanism(mech_name, std::move(opts));
  if (!mech) {
    s.no(c, "Unsupported authentication mechanism");
    co_return;
  }
  std::optional<std::string_view> ir;
  if (c.args.size() == 2) ir = c.args[1].text;  // RFC 4959: "=" is an empty response
  sasl::SaslStep st = mech->start(ir);
  while (st.kind == sasl::SaslStep::Kind::Challenge) {
    s.write("+ " + st.challenge_b64 + "\r\n");
    bool ok = co_await s.flush();
    if (!ok) {
      s.close("write error");
      co_return;
    }
    auto line = co_await s.read_line(kMaxSaslLine);
    if (!line) {
      s.close("dropped during AUTHENTICATE");
      co_return;
    }
    if (*line == "\x01toolong") {
      st = sasl::SaslStep::failure(sasl::FailReason::TooLong);
      break;
    }
    st = mech->step(*line);  // never logged: it carries credentials
  }
  const std::string method = "AUTHENTICATE " + mech_name;
  if (st.kind == sasl::SaslStep::Kind::NeedVerify) {
    co_await verify_password(s, c, st.authcid, st.password, method);
    co_return;
  }
  if (st.kind == sasl::SaslStep::Kind::Success) {
    auth.record_success(ip, st.authcid);
    store::Store* store = &s.store();
    const std::string* login = &st.authcid;
    auto job = [store, login]() { return ImapService::lookup_account(*store, *login); };
    auto acct = co_await s.conn().run_blocking(std::move(job));
    if (!acct || !acct->enabled) {
      s.no(c, "[AUTHENTICATIONFAILED] Authentication failed");
      co_return;
    }
    login_ok(s, c, *acct, method);
    co_return;
  }
  if (st.reason == sasl::FailReason::Cancelled) {
    s.bad(c, "Authentication cancelled");  // RFC 9051 §6.2.2: "*" gets BAD
  } else if (st.reason == sasl::FailReason::BadCredentials ||
             st.reason == sasl::FailReason::NoCredential ||
             st.reason == sasl::FailReason::AuthzDenied) {
    auto d = auth.check_allowed(ip, st.authcid);
    co_await sleep_for(d.delay);
    auth.record_failure(ip, st.authcid, sasl::reason_name(st.reason), s.id());
    s.no(c, "[AUTHENTICATIONFAILED] Authentication failed");
  } else {
    s.bad(c, "Invalid authentication exchange");
  }
}

}  // namespace tern::imapd
