// Password hashes via libxcrypt (library-notes §7) and SCRAM-SHA-256 credentials
// (RFC 5802 §3, RFC 7677) via OpenSSL.
#include "tern/auth/password.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <memory>

#include "tern/util/base64.hpp"
#include "tern/util/digest.hpp"

namespace tern::auth {
namespace {

// Dovecot's scheme prefixes that wrap a crypt(3) string (doveadm pw -l). The
// scheme itself is implied by the "$id$" that follows, so we just strip it.
constexpr std::string_view kSchemePrefixes[] = {"{CRYPT}", "{SHA512-CRYPT}", "{BLF-CRYPT}",
                                                "{SHA256-CRYPT}"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Strips a known "{SCHEME}"; returns nullopt for an unknown scheme prefix.
std::optional<std::string_view> strip_scheme(std::string_view h) {
  if (h.empty() || h.front() != '{') return h;
  auto close = h.find('}');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view scheme = h.substr(0, close + 1);
  for (auto p : kSchemePrefixes) {
    if (iequals(scheme, p)) {
      std::string_view rest = h.substr(close + 1);
      // {SHA512-CRYPT} must hold $6$, {BLF-CRYPT} a $2?$: a mismatch is a broken import.
      if (iequals(p, "{SHA512-CRYPT}") && !rest.starts_with("$6$")) return std::nullopt;
      if (iequals(p, "{SHA256-CRYPT}") && !rest.starts_with("$5$")) return std::nullopt;
      if (iequals(p, "{BLF-CRYPT}") && !(rest.starts_with("$2b$") || rest.starts_with("$2y$") ||
                                         rest.starts_with("$2a$")))
        return std::nullopt;
      return rest;
    }
  }
  return std::nullopt;
}

// Only the methods we promise (design §4): yescrypt, SHA-512 crypt, bcrypt — plus
// SHA-256 crypt ($5$) which is the same family as $6$. Weak legacy methods
// (DES, MD5 $1$, NT hash) are refused even though libxcrypt could verify them.
bool known_method(std::string_view h) {
  return h.starts_with("$y$") || h.starts_with("$6$") || h.starts_with("$5$") ||
         h.starts_with("$2b$") || h.starts_with("$2y$") || h.starts_with("$2a$");
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// crypt_data is ~32 KiB: keep it off the (coroutine/worker) stack.
std::optional<std::string> run_crypt(std::string_view pw, const std::string& setting) {
  auto cd = std::make_unique<crypt_data>();
  std::string p(pw);
  // crypt_rn returns NULL on failure (crypt_r would return a "*0" token instead).
  const char* r = crypt_rn(p.c_str(), setting.c_str(), cd.get(), sizeof(crypt_data));
  OPENSSL_cleanse(p.data(), p.size());
  std::optional<std::string> out;
  if (r != nullptr && r[0] != '*') out = std::string(r);
  OPENSSL_cleanse(cd.get(), sizeof(crypt_data));
  return out;
}

using util::hmac_sha256;
using util::sha256;

}  // namespace

std::string hash_password(std::string_view pw) {
  if (has_nul(pw)) throw PasswordError("password contains a NUL byte");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0 = the method's default cost; NULL rbytes = libxcrypt reads getrandom().
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr)
    throw PasswordError("crypt_gensalt_rn failed");
  auto h = run_crypt(pw, setting);
  if (!h) throw PasswordError("crypt_rn failed");
  return *h;
}

bool verify_password(std::string_view pw, std::string_view hash) {
  try {
    auto stripped = strip_scheme(hash);
    if (!stripped || !known_method(*stripped) || has_nul(*stripped) || has_nul(pw)) return false;
    std::string stored(*stripped);
    auto computed = run_crypt(pw, stored);
    if (!computed || computed->size() != stored.size()) return false;
    return CRYPTO_memcmp(computed->data(), stored.data(), stored.size()) == 0;
  } catch (...) {
    return false;  // bad_alloc: a failed verification, never a crash
  }
}

bool is_supported_hash(std::string_view hash) {
  auto stripped = strip_scheme(hash);
  if (!stripped || !known_method(*stripped) || has_nul(*stripped)) return false;
  std::string stored(*stripped);
  // crypt_checksalt: 0 (CRYPT_SALT_OK) for a well-formed setting of an enabled method.
  if (crypt_checksalt(stored.c_str()) != CRYPT_SALT_OK) return false;
  // A setting alone ("$6$salt") is well-formed but has no hash: require that hashing a
  // dummy password with it yields a string of the same shape and length.
  auto probe = run_crypt("probe", stored);
  return probe && probe->size() == stored.size() &&
         probe->substr(0, probe->rfind('$')) == stored.substr(0, stored.rfind('$'));
}

bool scram_password_acceptable(std::string_view pw) {
  if (pw.empty()) return false;
  for (unsigned char c : pw)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

ScramCredential make_scram_credential(std::string_view pw, std::string_view salt,
                                      std::uint32_t iterations) {
  if (!scram_password_acceptable(pw)) throw PasswordError("password not usable for SCRAM");
  if (salt.empty() || iterations == 0) throw PasswordError("bad SCRAM salt or iterations");
  unsigned char salted[32];
  // RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), Hi = PBKDF2.
  if (PKCS5_PBKDF2_HMAC(pw.data(), static_cast<int>(pw.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        sizeof salted, salted) != 1)
    throw PasswordError("PBKDF2 failed");
  std::string_view sp(reinterpret_cast<char*>(salted), sizeof salted);
  ScramCredential c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  std::string client_key = hmac_sha256(sp, "Client Key");
  c.stored_key = sha256(client_key);
  c.server_key = hmac_sha256(sp, "Server Key");
  OPENSSL_cleanse(salted, sizeof salted);
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return c;
}

ScramCredential make_scram_credential(std::string_view pw) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) throw PasswordError("RAND_bytes failed");
  return make_scram_credential(pw, std::string_view(reinterpret_cast<char*>(salt), sizeof salt),
                               4096);
}

std::string serialize_scram(const ScramCredential& c) {
  return "SCRAM-SHA-256$" + std::to_string(c.iterations) + ":" + util::base64_encode(c.salt) +
         "$" + util::base64_encode(c.stored_key) + ":" + util::base64_encode(c.server_key);
}

std::optional<ScramCredential> parse_scram(std::string_view t) {
  constexpr std::string_view prefix = "SCRAM-SHA-256$";
  if (!t.starts_with(prefix)) return std::nullopt;
  t.remove_prefix(prefix.size());
  auto colon1 = t.find(':');
  auto dollar = t.find('$');
  if (colon1 == std::string_view::npos || dollar == std::string_view::npos || colon1 > dollar)
    return std::nullopt;
  auto colon2 = t.find(':', dollar);
  if (colon2 == std::string_view::npos) return std::nullopt;
  std::string_view iter = t.substr(0, colon1);
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), n);
  if (ec != std::errc() || p != iter.data() + iter.size() || n == 0 || iter.empty())
    return std::nullopt;
  auto salt = util::base64_decode(t.substr(colon1 + 1, dollar - colon1 - 1));
  auto stored = util::base64_decode(t.substr(dollar + 1, colon2 - dollar - 1));
  auto server = util::base64_decode(t.substr(colon2 + 1));
  if (!salt || salt->empty() || !stored || stored->size() != 32 || !server ||
      server->size() != 32)
    return std::nullopt;
  ScramCredential c;
  c.salt = std::move(*salt);
  c.iterations = n;
  c.stored_key = std::move(*stored);
  c.server_key = std::move(*server);
  return c;
}

}  // namespace tern::auth
