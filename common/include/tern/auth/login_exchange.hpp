#pragma once
// The one login driver of tern-mta (SMTP AUTH), tern-pop3d (AUTH, USER/PASS) and
// tern-imapd (AUTHENTICATE, LOGIN): a coroutine that runs a SASL exchange (or checks
// a plain login/password pair) with the throttle, the store lookups on the blocking
// pool, and the timing rules, and returns how it ended. The protocol gives its
// challenge prefix and line limit, and answers with login_reply(outcome) (one table,
// tern/auth/login_outcome.hpp), so the three protocols answer alike.
//
// Order (the same for every mechanism and protocol):
//   1. the client IP is refused (throttle)          → Throttled, before any prompt
//   2. unknown mechanism                             → NoMechanism
//   3. exchange: challenges "<prefix><base64>\r\n", one response line each; "*" →
//      Cancelled; a line over max_response → TooLong; EOF/error → Closed; timeout →
//      Timeout (the connection's current timeout applies to each line)
//   4. once the login is known: throttle check of IP + canonical account → Throttled
//      (refused) or the throttle delay is waited; then the store lookup (PLAIN/LOGIN:
//      Authenticator::verify, SCRAM: lookup_scram) on the blocking pool; a store
//      error → TempFail. An unknown SCRAM login gets a fake server-first.
//   5. every failure is answered no sooner than Authenticator::failure_time() after
//      its verification began (unknown, disabled, $6$, yescrypt look alike) → Failed.
//   6. success resets the account's throttle → Ok, result.account set.
// Logging: the Authenticator logs each failure (login, ip, reason); the caller logs
// success/outcome with its session id. Passwords are never logged.
//
// Usage (IMAP AUTHENTICATE, RFC 9051 §6.2.2 + SASL-IR RFC 4959):
//   static constexpr auth::LoginProtocol kImap{"imap", "+ ", 12288};
//   std::optional<std::string> ir;                 // the SASL-IR argument if given ("=" = empty)
//   auto r = co_await auth::sasl_login(conn, authenticator, kImap, mech_name, ir);
//   if (r.outcome == Closed) close; if (r.outcome == Timeout) BYE and close;
//   else send(auth::imap_login_line(tag, r.outcome) + "\r\n"); r.ok() → r.account->address
// IMAP LOGIN / POP3 USER+PASS:
//   auto r = co_await auth::password_login(conn, authenticator, user, pass);
// Pass a LoginIo when the protocol reads through its own buffer (the MTA's push-back
// input); the default reads and writes the Connection directly.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tern/auth/authenticator.hpp"
#include "tern/auth/login_outcome.hpp"
#include "tern/net/asio.hpp"
#include "tern/net/connection.hpp"

namespace tern::auth {

struct LoginProtocol {
  std::string_view service;           // "smtp", "pop3", "imap" (logs)
  std::string_view challenge_prefix;  // "334 " (RFC 4954), "+ " (RFC 5034, RFC 9051)
  std::size_t max_response = 12288;   // longest response line accepted, octets
};

// How the exchange reads the client's responses and sends challenges.
class LoginIo {
 public:
  virtual ~LoginIo() = default;
  virtual asio::awaitable<net::LineRead> read_line(std::size_t max) = 0;
  // Queue and send one line (CRLF added). false = the connection is gone.
  virtual asio::awaitable<bool> send_line(std::string line) = 0;
};

struct LoginResult {
  LoginOutcome outcome = LoginOutcome::Failed;
  std::optional<AccountRecord> account;  // Ok only
  std::string login;                     // the login as sent ("" if never known); raw
  std::string mechanism;                 // upper case ("PLAIN", ...; "PASSWORD" for password_login)
  std::string detail;                    // for logs: "unknown user", "wrong password", ...
  bool ok() const { return outcome == LoginOutcome::Ok; }
};

// One SASL exchange. `mechanism` as the client named it; `initial_response` is the
// SASL-IR / AUTH argument when present. The caller has already checked that the
// mechanism may be used here (plaintext before TLS, etc.).
asio::awaitable<LoginResult> sasl_login(net::Connection& conn, Authenticator& auth,
                                        const LoginProtocol& proto, std::string mechanism,
                                        std::optional<std::string> initial_response,
                                        LoginIo* io = nullptr);

// A login/password pair (POP3 USER/PASS, IMAP LOGIN): steps 1, 4, 5, 6 above.
asio::awaitable<LoginResult> password_login(net::Connection& conn, Authenticator& auth,
                                            std::string login, std::string password);

}  // namespace tern::auth
