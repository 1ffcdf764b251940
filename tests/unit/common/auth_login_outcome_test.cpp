// The one table of login answers: SMTP, POP3 and IMAP answer each outcome alike.
#include <catch2/catch.hpp>

#include "tern/auth/login_outcome.hpp"

using namespace tern::auth;

TEST_CASE("login answers per protocol", "[auth][login]") {
  CHECK(smtp_login_line(LoginOutcome::Failed) == "535 5.7.8 Authentication credentials invalid");
  CHECK(pop3_login_line(LoginOutcome::Failed) == "-ERR [AUTH] Authentication credentials invalid");
  CHECK(imap_login_line("a1", LoginOutcome::Failed) ==
        "a1 NO [AUTHENTICATIONFAILED] Authentication credentials invalid");
  // Throttled (RFC 4954 §6 454 4.7.0, RFC 3206 [SYS/TEMP], RFC 9051 [UNAVAILABLE]).
  CHECK(smtp_login_line(LoginOutcome::Throttled) == "454 4.7.0 Too many failed logins, try again later");
  CHECK(pop3_login_line(LoginOutcome::Throttled) == "-ERR [SYS/TEMP] Too many failed logins, try again later");
  CHECK(imap_login_line("a2", LoginOutcome::Throttled) ==
        "a2 NO [UNAVAILABLE] Too many failed logins, try again later");
  // A store error is a temporary failure everywhere (before: 535 in one daemon, a
  // dropped connection in the other).
  CHECK(smtp_login_line(LoginOutcome::TempFail) == "454 4.7.0 Temporary authentication failure, try again later");
  CHECK(pop3_login_line(LoginOutcome::TempFail) ==
        "-ERR [SYS/TEMP] Temporary authentication failure, try again later");
  CHECK(imap_login_line("a3", LoginOutcome::TempFail) ==
        "a3 NO [UNAVAILABLE] Temporary authentication failure, try again later");
  CHECK(smtp_login_line(LoginOutcome::Cancelled) == "501 5.0.0 Authentication cancelled");
  CHECK(imap_login_line("a4", LoginOutcome::Cancelled) == "a4 BAD Authentication cancelled");
  CHECK(pop3_login_line(LoginOutcome::Ok) == "+OK Authentication successful");
  for (auto o : {LoginOutcome::Ok, LoginOutcome::Failed, LoginOutcome::Throttled, LoginOutcome::TempFail,
                 LoginOutcome::Cancelled, LoginOutcome::Malformed, LoginOutcome::TooLong,
                 LoginOutcome::Unsupported, LoginOutcome::NoMechanism, LoginOutcome::Closed,
                 LoginOutcome::Timeout})
    CHECK_FALSE(outcome_name(o).empty());
}
