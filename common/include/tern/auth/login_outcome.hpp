#pragma once
// How a login ended, and the one table of answers SMTP (RFC 4954 §6), POP3 (RFC 5034,
// RFC 2449 §8 / RFC 3206 response codes) and IMAP (RFC 9051 §7.1 response codes) give
// for it, so the three protocols cannot drift apart. Pure, no Asio.
#include <string>
#include <string_view>

namespace tern::auth {

enum class LoginOutcome {
  Ok,           // authenticated: LoginResult::account is set
  Failed,       // wrong password, unknown or disabled account, SCRAM proof, authzid
  Throttled,    // refused by the throttle (too many recent failures of the IP/account)
  TempFail,     // the store could not be read: try again later
  Cancelled,    // the client sent "*"
  Malformed,    // bad base64 or mechanism syntax
  TooLong,      // a response line over the limit
  Unsupported,  // SCRAM channel binding asked for (no -PLUS offered)
  NoMechanism,  // mechanism name unknown
  Closed,       // the connection dropped or a write failed: close, answer nothing
  Timeout,      // no response in time: the protocol's own timeout handling applies
};

std::string_view outcome_name(LoginOutcome o);

struct LoginReply {
  int smtp_code;               // 235 / 535 / 454 / 501 / 504
  std::string_view smtp_esc;   // enhanced status code (RFC 3463)
  std::string_view pop3_code;  // RFC 2449 "[...]" code, "" for none; "+OK" for Ok
  std::string_view imap_status;  // "OK" / "NO" / "BAD"
  std::string_view imap_code;    // RFC 9051 §7.1 code, "" for none
  std::string_view text;         // the human text, the same in every protocol
};

// The answer to an outcome. Closed and Timeout have an entry for completeness (the
// caller answers them in its own way: close, or its timeout reply).
const LoginReply& login_reply(LoginOutcome o);

// Ready-made lines (no CRLF): "535 5.7.8 Authentication credentials invalid",
// "-ERR [AUTH] Authentication credentials invalid",
// "<tag> NO [AUTHENTICATIONFAILED] Authentication credentials invalid".
std::string smtp_login_line(LoginOutcome o);
std::string pop3_login_line(LoginOutcome o);
std::string imap_login_line(std::string_view tag, LoginOutcome o);

}  // namespace tern::auth
