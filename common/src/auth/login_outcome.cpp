#include "tern/auth/login_outcome.hpp"

namespace tern::auth {

std::string_view outcome_name(LoginOutcome o) {
  switch (o) {
    case LoginOutcome::Ok: return "ok";
    case LoginOutcome::Failed: return "failed";
    case LoginOutcome::Throttled: return "throttled";
    case LoginOutcome::TempFail: return "temporary failure";
    case LoginOutcome::Cancelled: return "cancelled";
    case LoginOutcome::Malformed: return "malformed";
    case LoginOutcome::TooLong: return "too long";
    case LoginOutcome::Unsupported: return "unsupported";
    case LoginOutcome::NoMechanism: return "unknown mechanism";
    case LoginOutcome::Closed: return "closed";
    case LoginOutcome::Timeout: return "timeout";
  }
  return "?";
}

const LoginReply& login_reply(LoginOutcome o) {
  // RFC 4954 §6: 535 5.7.8 bad credentials, 454 4.7.0 temporary failure, 501 5.5.2
  // cannot decode, 501 5.0.0 cancelled (RFC 4954 §4), 504 5.5.4 unrecognised mechanism.
  // RFC 3206: [AUTH] the credentials are at fault, [SYS/TEMP] a temporary system
  // problem. RFC 9051 §7.1: [AUTHENTICATIONFAILED], [UNAVAILABLE]; BAD for a protocol
  // error or a cancelled exchange (§6.2.2).
  static const LoginReply kOk{235, "2.7.0", "+OK", "OK", "", "Authentication successful"};
  static const LoginReply kFailed{535, "5.7.8", "AUTH", "NO", "AUTHENTICATIONFAILED",
                                  "Authentication credentials invalid"};
  static const LoginReply kThrottled{454, "4.7.0", "SYS/TEMP", "NO", "UNAVAILABLE",
                                     "Too many failed logins, try again later"};
  static const LoginReply kTemp{454, "4.7.0", "SYS/TEMP", "NO", "UNAVAILABLE",
                                "Temporary authentication failure, try again later"};
  static const LoginReply kCancelled{501, "5.0.0", "", "BAD", "", "Authentication cancelled"};
  static const LoginReply kMalformed{501, "5.5.2", "", "BAD", "", "Malformed authentication data"};
  static const LoginReply kTooLong{500, "5.5.6", "", "BAD", "", "Authentication exchange line is too long"};
  static const LoginReply kUnsupported{504, "5.5.4", "", "NO", "", "Channel binding not supported"};
  static const LoginReply kNoMech{504, "5.5.4", "", "NO", "", "Unrecognized authentication type"};
  static const LoginReply kClosed{421, "4.4.2", "", "BAD", "", "Connection closed"};
  static const LoginReply kTimeout{421, "4.4.2", "", "BAD", "", "Timeout during authentication"};
  switch (o) {
    case LoginOutcome::Ok: return kOk;
    case LoginOutcome::Failed: return kFailed;
    case LoginOutcome::Throttled: return kThrottled;
    case LoginOutcome::TempFail: return kTemp;
    case LoginOutcome::Cancelled: return kCancelled;
    case LoginOutcome::Malformed: return kMalformed;
    case LoginOutcome::TooLong: return kTooLong;
    case LoginOutcome::Unsupported: return kUnsupported;
    case LoginOutcome::NoMechanism: return kNoMech;
    case LoginOutcome::Closed: return kClosed;
    case LoginOutcome::Timeout: return kTimeout;
  }
  return kFailed;
}

std::string smtp_login_line(LoginOutcome o) {
  const auto& r = login_reply(o);
  return std::to_string(r.smtp_code) + " " + std::string(r.smtp_esc) + " " + std::string(r.text);
}

std::string pop3_login_line(LoginOutcome o) {
  const auto& r = login_reply(o);
  if (o == LoginOutcome::Ok) return "+OK " + std::string(r.text);
  std::string s = "-ERR ";
  if (!r.pop3_code.empty()) s += "[" + std::string(r.pop3_code) + "] ";
  return s + std::string(r.text);
}

std::string imap_login_line(std::string_view tag, LoginOutcome o) {
  const auto& r = login_reply(o);
  std::string s = std::string(tag) + " " + std::string(r.imap_status) + " ";
  if (!r.imap_code.empty()) s += "[" + std::string(r.imap_code) + "] ";
  return s + std::string(r.text);
}

}  // namespace tern::auth
