#pragma once
// Server-side SASL mechanisms shared by SMTP AUTH (RFC 4954), IMAP AUTHENTICATE
// (RFC 3501 §6.2.2 / RFC 9051) and POP3 AUTH (RFC 5034): PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login) and SCRAM-SHA-256 (RFC 7677 / RFC 5802).
//
// Pure state machines, no I/O, no Asio. Data in and out is STILL BASE64-ENCODED:
// the protocol passes the client's line (without CRLF) unchanged and sends
// challenge_b64 after "334 " (SMTP), "+ " (IMAP, POP3).
//
// No mechanism does I/O or a lookup: where one needs the store, it returns a step
// asking for it (NeedVerify, NeedCredential) and the driver does the lookup on the
// worker pool. The one driver is tern/auth/login_exchange.hpp (SMTP, POP3, IMAP).
//
// Typical driver:
//   auto m = tern::sasl::make_mechanism(name, opts);     // nullptr → unknown mechanism
//   SaslStep s = m->start(initial_response);             // nullopt if none was given
//   loop:
//     Challenge: send(s.challenge_b64); s = m->step(read_line());
//     NeedCredential (SCRAM): look up s.authcid's ScramCredential (nullopt: unknown user,
//       disabled account, no SCRAM credential) off the io thread; s = m->credential(c).
//       With nullopt the mechanism answers a FAKE server-first (salt derived from
//       HMAC(Options::fake_salt_secret, login)), indistinguishable from a real one, and
//       fails the proof later with NoCredential.
//   NeedVerify (PLAIN, LOGIN): run authenticator.verify(ip, s.authcid, s.password) on the
//     worker pool; the mechanism is finished either way.
//   Success (SCRAM): s.authcid is authenticated; Failure: map s.reason to a reply:
//     Cancelled → SMTP 501 5.0.0, Malformed/TooLong → 501 5.5.2, BadCredentials/
//     NoCredential/AuthzDenied → 535 5.7.8 (POP3 -ERR [AUTH], IMAP NO [AUTHENTICATIONFAILED];
//     Malformed → IMAP BAD).
// Call step() only after a Challenge; after any other step it returns Failure/Malformed.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/auth/password.hpp"

namespace tern::sasl {

enum class FailReason {
  None,
  Cancelled,       // the client sent "*" (RFC 4954 §4, RFC 3501 §6.2.2, RFC 5034 §4)
  Malformed,       // bad base64, missing NULs, empty where data is required, bad SCRAM syntax
  TooLong,         // decoded response larger than Options::max_decoded
  BadCredentials,  // SCRAM proof did not verify
  NoCredential,    // SCRAM: the user is unknown, disabled or has no SCRAM credential
                   // (imported hash); reported after the (fake) exchange, at the proof
  AuthzDenied,     // authzid given and different from authcid (no proxy authorization)
  Unsupported,     // SCRAM channel binding "p=" requested (we offer no -PLUS variant)
};

// Short lower-case name for logs ("cancelled", "malformed", ...).
std::string_view reason_name(FailReason r);

struct SaslStep {
  enum class Kind {
    Challenge,   // send challenge_b64 to the client and pass its next line to step()
    NeedVerify,  // PLAIN/LOGIN finished decoding: verify authcid/password, then reply
    NeedCredential,  // SCRAM: look up authcid's credential, then call credential()
    Success,     // SCRAM: authcid is authenticated (server-final already sent as a Challenge)
    Failure,     // see reason
  };
  Kind kind = Kind::Failure;
  std::string challenge_b64;  // Challenge only ("" = an empty challenge, e.g. PLAIN with no IR)
  FailReason reason = FailReason::None;  // Failure only
  std::string authzid;   // NeedVerify/Success: as sent by the client ("" if none)
  std::string authcid;   // NeedVerify/NeedCredential/Success: the login name (also set on
                         // SCRAM failures if known)
  std::string password;  // NeedVerify only; the caller must not log or keep it

  static SaslStep challenge(std::string b64) {
    SaslStep s; s.kind = Kind::Challenge; s.challenge_b64 = std::move(b64); return s;
  }
  static SaslStep failure(FailReason r) {
    SaslStep s; s.kind = Kind::Failure; s.reason = r; return s;
  }
};

struct Options {
  std::size_t max_decoded = 8192;  // bytes of one decoded client response
  // Key of the fake SCRAM salts given to unknown logins: HMAC-SHA-256(secret, login)
  // truncated to 16 bytes. Keep it per install and stable across restarts (the store
  // keeps one), so a login's fake salt never changes, as a real one does not.
  // Empty: a random per-process secret (fake salts then change at restart).
  std::string fake_salt_secret;
  std::uint32_t fake_iterations = 4096;  // what make_scram_credential() uses
  // The login as the store resolves it (pure), so "bob@x." and " bob@x" get the same
  // fake salt as they would get the same real one. Empty: the login as sent.
  std::function<std::string(std::string_view)> canonical;
  std::string test_server_nonce;   // tests only: fixed server nonce part instead of random
};

// The fake salt an unknown `login` gets (exposed for tests): 16 bytes.
std::string fake_scram_salt(std::string_view secret, std::string_view login);

class SaslMechanism {
 public:
  virtual ~SaslMechanism() = default;
  virtual std::string_view name() const = 0;  // "PLAIN", "LOGIN", "SCRAM-SHA-256"
  // Begin. `initial_response_b64`: the SASL-IR token if the client sent one
  // ("=" means an empty initial response, RFC 4954 §4 / RFC 4959), "*" cancels.
  virtual SaslStep start(std::optional<std::string_view> initial_response_b64) = 0;
  // One client line (base64, without CRLF); "*" cancels.
  virtual SaslStep step(std::string_view client_line_b64) = 0;
  // After NeedCredential only: the stored credential of authcid, or nullopt (unknown,
  // disabled, no SCRAM credential: a fake server-first follows). Any other time:
  // Failure/Malformed.
  virtual SaslStep credential(std::optional<tern::auth::ScramCredential> c) {
    (void)c;
    return SaslStep::failure(FailReason::Malformed);
  }
};

// Case-insensitive name → mechanism; unknown → nullptr.
std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name, Options opts = {});

// The names we implement, in the order to advertise them.
// `plaintext_ok` false (no TLS and not allowed by config) → only "SCRAM-SHA-256".
std::vector<std::string_view> mechanism_names(bool plaintext_ok);

}  // namespace tern::sasl
