// The shared login driver (see the header for the order of steps). Compiled into
// tern_net (it uses Asio), not tern_common.
//
// GCC 12 rules of tern/net/asio.hpp apply: no co_await inside && / || / ?: or an if
// condition, and the lambdas given to run_blocking are named locals capturing only
// pointers to this frame's locals.
#include "tern/auth/login_exchange.hpp"

#include <cctype>

#include "tern/sasl/sasl.hpp"

namespace tern::auth {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Kind = sasl::SaslStep::Kind;

class ConnectionIo final : public LoginIo {
 public:
  explicit ConnectionIo(net::Connection& c) : c_(c) {}
  asio::awaitable<net::LineRead> read_line(std::size_t max) override {
    co_return co_await c_.read_line(max);
  }
  asio::awaitable<bool> send_line(std::string line) override {
    line += "\r\n";
    c_.write(line);
    co_return co_await c_.flush();
  }

 private:
  net::Connection& c_;
};

asio::awaitable<void> sleep_for(SteadyClock::duration d) {
  if (d <= SteadyClock::duration::zero()) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Step 5: a failure is answered failure_time() after its verification began.
asio::awaitable<void> pad_failure(net::Connection& conn, Authenticator& auth, SteadyClock::time_point began) {
  Authenticator* a = &auth;
  // The first call may measure a yescrypt verification: keep it off the io thread.
  auto measure = [a] { return a->failure_time(); };
  std::chrono::nanoseconds floor = co_await conn.run_blocking(std::move(measure));
  co_await sleep_for(began + floor - SteadyClock::now());
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

LoginOutcome outcome_of(sasl::FailReason r) {
  if (r == sasl::FailReason::Cancelled) return LoginOutcome::Cancelled;
  if (r == sasl::FailReason::Malformed) return LoginOutcome::Malformed;
  if (r == sasl::FailReason::TooLong) return LoginOutcome::TooLong;
  if (r == sasl::FailReason::Unsupported) return LoginOutcome::Unsupported;
  return LoginOutcome::Failed;  // BadCredentials, NoCredential, AuthzDenied
}

// Step 4 for a known login: refused, or the delay waited. true = go on.
asio::awaitable<bool> admit(Authenticator& auth, const std::string& ip, const std::string& login,
                            LoginResult& r) {
  AuthDecision d = auth.check_allowed(ip, login);
  if (d.refuse) {
    r.outcome = LoginOutcome::Throttled;
    r.detail = "throttled";
    co_return false;
  }
  co_await sleep_for(d.delay);
  co_return true;
}

// Checks a login/password pair (PLAIN, LOGIN, USER/PASS, IMAP LOGIN) into r.
asio::awaitable<void> verify_pair(net::Connection& conn, Authenticator& auth, const std::string& login,
                                  const std::string& password, LoginResult& r) {
  const std::string& ip = conn.peer_ip();
  bool go = co_await admit(auth, ip, login, r);
  if (!go) co_return;
  Authenticator* a = &auth;
  const std::string* pip = &ip;
  const std::string* plogin = &login;
  const std::string* ppw = &password;
  const std::string* pid = &conn.id();
  auto job = [a, pip, plogin, ppw, pid] { return a->verify(*pip, *plogin, *ppw, *pid); };
  const auto began = SteadyClock::now();
  AuthResult res;
  try {
    res = co_await conn.run_blocking(std::move(job));
  } catch (const std::exception&) {
    res.status = AuthStatus::TempFail;
    res.detail = "verification error";
  }
  r.detail = res.detail;
  if (res.status == AuthStatus::Ok && res.account) {
    r.outcome = LoginOutcome::Ok;
    r.account = std::move(res.account);
  } else if (res.status == AuthStatus::Refused) {
    r.outcome = LoginOutcome::Throttled;
  } else if (res.status == AuthStatus::TempFail) {
    r.outcome = LoginOutcome::TempFail;
  } else {
    r.outcome = LoginOutcome::Failed;
    co_await pad_failure(conn, auth, began);
  }
}

}  // namespace

asio::awaitable<LoginResult> password_login(net::Connection& conn, Authenticator& auth,
                                            std::string login, std::string password) {
  LoginResult r;
  r.mechanism = "PASSWORD";
  r.login = login;
  if (auth.check_allowed(conn.peer_ip(), "").refuse) {
    r.outcome = LoginOutcome::Throttled;
    r.detail = "throttled";
    co_return r;
  }
  co_await verify_pair(conn, auth, login, password, r);
  co_return r;
}

asio::awaitable<LoginResult> sasl_login(net::Connection& conn, Authenticator& auth,
                                        const LoginProtocol& proto, std::string mechanism,
                                        std::optional<std::string> initial_response, LoginIo* io) {
  LoginResult r;
  r.mechanism = upper(mechanism);
  const std::string& ip = conn.peer_ip();
  ConnectionIo direct(conn);
  LoginIo& line_io = io ? *io : static_cast<LoginIo&>(direct);

  // Step 1: an IP over its limit gets no prompt at all.
  if (auth.check_allowed(ip, "").refuse) {
    r.outcome = LoginOutcome::Throttled;
    r.detail = "throttled";
    co_return r;
  }
  sasl::Options so;
  so.fake_salt_secret = auth.fake_salt_secret();
  Authenticator* authp = &auth;
  so.canonical = [authp](std::string_view l) { return authp->canonical(l); };
  auto mech = sasl::make_mechanism(mechanism, so);
  if (!mech) {
    r.outcome = LoginOutcome::NoMechanism;
    r.detail = "unknown mechanism";
    co_return r;
  }
  std::optional<std::string_view> ir;
  if (initial_response) ir = *initial_response;
  sasl::SaslStep step = mech->start(ir);
  auto last_line = SteadyClock::now();
  std::optional<AccountRecord> scram_account;
  for (;;) {
    if (step.kind == Kind::Challenge) {
      std::string line = std::string(proto.challenge_prefix) + step.challenge_b64;
      bool sent = co_await line_io.send_line(std::move(line));
      if (!sent) {
        r.outcome = LoginOutcome::Closed;
        r.detail = "write error";
        co_return r;
      }
      net::LineRead lr = co_await line_io.read_line(proto.max_response);
      last_line = SteadyClock::now();
      if (lr.status == net::ReadStatus::Timeout) {
        r.outcome = LoginOutcome::Timeout;
        r.detail = "timeout";
        co_return r;
      }
      if (lr.status == net::ReadStatus::Eof || lr.status == net::ReadStatus::Error) {
        r.outcome = LoginOutcome::Closed;
        r.detail = "connection lost";
        co_return r;
      }
      if (lr.status == net::ReadStatus::TooLong) {
        step = sasl::SaslStep::failure(sasl::FailReason::TooLong);
        continue;
      }
      // BareLf/BareCr: the text is still the client's line; the base64 decoder
      // refuses a stray CR.
      step = mech->step(lr.line);  // never logged: it carries credentials
      continue;
    }
    if (step.kind == Kind::NeedCredential) {
      r.login = step.authcid;
      bool go = co_await admit(auth, ip, r.login, r);
      if (!go) co_return r;
      Authenticator* a = &auth;
      const std::string* plogin = &r.login;
      const std::string* pid = &conn.id();
      auto job = [a, plogin, pid] { return a->lookup_scram(*plogin, *pid); };
      ScramLookupResult found;
      try {
        found = co_await conn.run_blocking(std::move(job));
      } catch (const std::exception&) {
        found.status = ScramLookupResult::Status::TempFail;
      }
      if (found.status == ScramLookupResult::Status::TempFail) {
        r.outcome = LoginOutcome::TempFail;
        r.detail = "lookup failed";
        co_return r;
      }
      std::optional<ScramCredential> cred;
      if (found.status == ScramLookupResult::Status::Found) {
        scram_account = std::move(found.account);
        cred = scram_account->scram;
      } else {
        r.detail = found.detail;  // kept for the failure at the proof
      }
      step = mech->credential(std::move(cred));
      continue;
    }
    break;
  }

  if (step.kind == Kind::NeedVerify) {
    r.login = step.authcid;
    std::string password = std::move(step.password);
    co_await verify_pair(conn, auth, r.login, password, r);
    co_return r;
  }
  if (step.kind == Kind::Success && scram_account) {
    auth.record_success(ip, scram_account->address.empty() ? r.login : scram_account->address);
    auth.record_success(ip, r.login);
    r.outcome = LoginOutcome::Ok;
    r.account = std::move(scram_account);
    co_return r;
  }
  // Failure (or a Success without an account, which cannot happen: treated as failed).
  if (!step.authcid.empty()) r.login = step.authcid;
  r.outcome = step.kind == Kind::Success ? LoginOutcome::Failed : outcome_of(step.reason);
  if (r.outcome == LoginOutcome::Failed) {
    if (step.reason == sasl::FailReason::BadCredentials) r.detail = "wrong password";
    else if (step.reason == sasl::FailReason::AuthzDenied) r.detail = "authzid denied";
    else if (r.detail.empty()) r.detail = std::string(sasl::reason_name(step.reason));
    auth.record_failure(ip, r.login, r.detail, conn.id());
    co_await pad_failure(conn, auth, last_line);
  } else {
    r.detail = std::string(sasl::reason_name(step.reason));
  }
  co_return r;
}

}  // namespace tern::auth
