#pragma once
// Password hashes (libxcrypt) and SCRAM-SHA-256 credentials (RFC 5802, RFC 7677).
// Pure functions, no I/O except the kernel's random source. Hashing and verifying
// are deliberately slow (yescrypt ≈ 30–60 ms of CPU): call them from the worker
// pool (Connection::run_blocking), never on an I/O thread.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tern::auth {

struct PasswordError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A new hash for `pw`: yescrypt "$y$j9T$<salt>$<hash>" with a fresh random salt.
// Throws PasswordError if libxcrypt fails (it does not for any input, in practice)
// or if `pw` contains a NUL byte (crypt(3) cannot hash it).
std::string hash_password(std::string_view pw);

// True iff `pw` matches `hash`. Accepts crypt(3) hashes "$y$…", "$6$…" (also
// "$6$rounds=N$…"), "$2b$…" (and "$2y$"/"$2a$", same algorithm), optionally behind a
// Dovecot scheme prefix "{CRYPT}", "{SHA512-CRYPT}", "{BLF-CRYPT}" (stripped;
// matched case-insensitively). Anything else (empty, "*", "!", DES, MD5 "$1$",
// "{PLAIN}…", garbage) → false; never throws, never crashes. The comparison of the
// computed and stored hash is constant-time (CRYPTO_memcmp).
bool verify_password(std::string_view pw, std::string_view hash);

// True iff `hash` is a form verify_password() accepts and is well-formed enough for
// libxcrypt to use as a setting (ternctl user add --password-hash checks this).
bool is_supported_hash(std::string_view hash);

// SCRAM-SHA-256 stored credential (RFC 5802 §3): the server never keeps the password.
//   SaltedPassword = PBKDF2-HMAC-SHA-256(pw, salt, iterations)
//   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//   ServerKey      = HMAC(SaltedPassword, "Server Key")
struct ScramCredential {
  std::string salt;           // raw bytes (16 random bytes when we make one)
  std::uint32_t iterations = 4096;
  std::string stored_key;     // raw 32 bytes
  std::string server_key;     // raw 32 bytes
  bool operator==(const ScramCredential&) const = default;
};

// SASLprep (RFC 4013) is NOT implemented in full: we apply a simple subset —
// a password containing ASCII control characters (0x00–0x1F, 0x7F) is rejected,
// everything else (including non-ASCII UTF-8) is used as is. Clients that
// normalise differently will fail SCRAM for such passwords and can use PLAIN.
bool scram_password_acceptable(std::string_view pw);

// A credential for `pw` with 16 random salt bytes and 4096 iterations (RFC 7677 §4
// minimum). Throws PasswordError if !scram_password_acceptable(pw).
ScramCredential make_scram_credential(std::string_view pw);
// The same with a given salt and iteration count (tests, RFC 7677 vector).
ScramCredential make_scram_credential(std::string_view pw, std::string_view salt,
                                      std::uint32_t iterations);

// One-string form kept by the store beside the password hash:
//   "SCRAM-SHA-256$<iterations>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>"
std::string serialize_scram(const ScramCredential& c);
// Inverse of serialize_scram; std::nullopt for anything malformed (wrong prefix,
// bad base64, keys not 32 bytes, iterations 0 or not a number, empty salt).
std::optional<ScramCredential> parse_scram(std::string_view text);

}  // namespace tern::auth
