#pragma once
// The login pipeline shared by the daemons: account lookup → throttle check →
// cache of recent successful verifications → password hash verification.
// Pure (no Asio, no sockets); thread-safe. Authenticator::verify() is BLOCKING
// (it may run yescrypt): call it through Connection::run_blocking.
//
// Driver (SMTP AUTH / POP3 PASS / IMAP LOGIN):
//   AuthDecision d = auth.check_allowed(ip, login);
//   if (d.refuse) → SMTP 454 4.7.0 / POP3 -ERR [SYS/TEMP] / IMAP NO [UNAVAILABLE]
//   co_await sleep(d.delay);
//   AuthResult r = co_await conn.run_blocking([&]{ return auth.verify(ip, login, pw); });
//   r.ok() → r.account is the logged-in account.
// The whole exchange (SASL, USER/PASS, IMAP LOGIN), with this order and the replies,
// is tern/auth/login_exchange.hpp: use it rather than these calls one by one.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/auth/password.hpp"
#include "tern/auth/throttle_table.hpp"
#include "tern/config/config.hpp"

namespace tern::auth {

struct AccountRecord {
  std::uint64_t id = 0;
  std::string address;        // the canonical login (user@domain, lower case)
  std::string password_hash;  // crypt(3) form, as for verify_password()
  std::optional<ScramCredential> scram;
  bool enabled = true;
};

// The store's lookup by login name; nullopt = no such account. May throw on a store
// error (verify() reports TempFail then). Must be callable from several threads.
using AccountLookup = std::function<std::optional<AccountRecord>(std::string_view login)>;

using TimePoint = std::chrono::steady_clock::time_point;
using Clock = std::function<TimePoint()>;  // empty = std::chrono::steady_clock::now

// ---------------------------------------------------------------------------------
// AuthCache (like Dovecot's auth_cache): remembers recent SUCCESSFUL verifications.
// Key = HMAC-SHA-256(per-process random secret, login '\0' password '\0' stored hash);
// the password is never stored. A changed stored hash (password change) misses by
// construction. Entries expire after `ttl`; beyond `max_entries` the least recently
// used entry is evicted. ttl 0 or max_entries 0 disables the cache.
class AuthCache {
 public:
  using Key = std::array<unsigned char, 32>;
  struct Entry {  // all an entry holds (tests check it contains no plaintext)
    Key key;
    TimePoint expires;
  };

  AuthCache(std::chrono::seconds ttl, std::size_t max_entries, Clock clock = {});
  // A hit: this (login, password, stored hash) verified within the TTL.
  bool lookup(std::string_view login, std::string_view password, std::string_view stored_hash);
  void remember(std::string_view login, std::string_view password, std::string_view stored_hash);
  void clear();
  std::size_t size() const;
  bool enabled() const { return ttl_.count() > 0 && max_entries_ > 0; }
  std::vector<Entry> entries() const;  // a copy, for tests and stats

 private:
  Key key_for(std::string_view login, std::string_view password, std::string_view stored_hash) const;
  TimePoint now() const;
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  Clock clock_;
  std::array<unsigned char, 32> secret_{};
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
};

// ---------------------------------------------------------------------------------
// The key logins are counted and compared under: what the store resolves a login to
// (ASCII whitespace trimmed, lower case, trailing dots dropped), at most
// kMaxLoginKey octets. So " Bob@Example.TEST." counts as bob@example.test.
// Daemons may pass a finer canonicaliser (the store's normalize_address, which also
// maps IDNA U-labels) in AuthenticatorOptions::canonical; this one is always applied.
inline constexpr std::size_t kMaxLoginKey = 320;
std::string canonical_login(std::string_view login);

// ---------------------------------------------------------------------------------
// Throttle: failed logins per client IP (IPv6 per /ipv6_prefix network) and per
// canonical account.
// - Delay: after n recent failures of the IP or the account (whichever is larger),
//   the next attempt waits base_delay * 2^(n-1), capped at max_delay (0, 1, 2, 4, 8… s).
// - Refusal: once an IP has `ip_failures` failures inside `window`, or an account
//   `account_failures`, further attempts from that IP / for that account are refused
//   until the oldest of those failures leaves the window.
// - Success resets the account's counter (not the IP's: a host guessing many
//   accounts stays throttled). Failures older than `window` are forgotten.
// The counts live in a ThrottleTable (tern/auth/throttle_table.hpp): the one tern
// shares between its daemons when given (so every protocol counts against one limit),
// else a process-local one. Failure times are kept at window/60 (1 s) resolution.
// Memory is bounded: the table is fixed-size (max_tracked slots per table, rounded up to
// a multiple of 8; a full set drops its least recently failed key, O(1)), a slot holds a
// keyed hash of its key, not the key, and the same 60 counters whatever the limits.
struct ThrottleConfig {
  unsigned ip_failures = 5;        // [limits] auth_failures
  unsigned account_failures = 10;  // [auth] account_failures
  unsigned ipv6_prefix = 64;       // [limits] ipv6_prefix
  std::chrono::seconds window{60};
  std::chrono::milliseconds base_delay{1000};  // [auth] failure_delay
  std::chrono::milliseconds max_delay{8000};
  std::size_t max_tracked = 100000;  // keys kept per table; least recent dropped beyond
};

struct AuthDecision {
  bool refuse = false;                   // answer "try later" without verifying
  std::chrono::milliseconds delay{0};    // wait this long before verifying/answering
  std::chrono::seconds retry_after{0};   // refuse: when the window frees a slot
};

class Throttle {
 public:
  // `table` empty = a process-local table sized from cfg (max_tracked, window); else
  // the given (shared) table, whose window wins over cfg.window.
  explicit Throttle(ThrottleConfig cfg = {}, Clock clock = {}, std::shared_ptr<ThrottleTable> table = {});
  // `login` may be empty (IP only). Both are keyed here (ip_limit_key, canonical_login).
  AuthDecision check(std::string_view ip, std::string_view login);
  void record_failure(std::string_view ip, std::string_view login);
  void record_success(std::string_view ip, std::string_view login);
  // Recent failures (inside the window) of an IP / an account.
  unsigned ip_failures(std::string_view ip);
  unsigned account_failures(std::string_view login);
  // Keys held (tests: the bound).
  std::size_t tracked_ips();
  std::size_t tracked_accounts();
  ThrottleTable& table() { return *table_; }

 private:
  std::string ip_key(std::string_view ip) const;
  TimePoint now() const;
  ThrottleConfig cfg_;
  Clock clock_;
  std::shared_ptr<ThrottleTable> table_;
};

// ---------------------------------------------------------------------------------
enum class AuthStatus {
  Ok,
  BadCredentials,  // unknown login or wrong password (not distinguished to clients)
  Disabled,        // account exists but is disabled (report as BadCredentials to clients)
  Refused,         // throttled: too many failures from this IP
  TempFail,        // the account lookup threw (store error)
};
std::string_view status_name(AuthStatus s);

struct AuthResult {
  AuthStatus status = AuthStatus::BadCredentials;
  std::optional<AccountRecord> account;  // Ok only
  bool cache_hit = false;                // Ok only: no hash was computed
  std::string detail;                    // failures: "unknown user", "wrong password", ...
  bool ok() const { return status == AuthStatus::Ok; }
};

// The SCRAM exchange's credential lookup (NeedCredential).
struct ScramLookupResult {
  enum class Status { Found, Unknown, TempFail };
  Status status = Status::Unknown;  // Unknown: no account, disabled, or no SCRAM credential
  std::optional<AccountRecord> account;  // Found: the enabled account (scram set)
  std::string detail;                    // Unknown: why, for the log
};

// Canonical form of a login (see canonical_login); may return the input unchanged.
using Canonicaliser = std::function<std::string(std::string_view login)>;

struct AuthenticatorOptions {
  std::chrono::seconds cache_ttl{3600};
  std::size_t cache_size = 10000;
  ThrottleConfig throttle;
  Canonicaliser canonical;  // empty = canonical_login alone
  // A failed login is answered no sooner than this after its verification began, so
  // its time does not tell an unknown or disabled account from a wrong password, nor
  // one hash scheme from another ($6$ ≈ 2 ms, yescrypt ≈ 20 ms). 0 = automatic:
  // twice the measured time of one yescrypt verification (the slowest scheme we make).
  std::chrono::milliseconds failure_time{0};
  std::string fake_salt_secret;  // sasl::Options::fake_salt_secret (per install)
  // The failed-login table tern shares between its daemons (ThrottleTable::inherited());
  // empty = a process-local one.
  std::shared_ptr<ThrottleTable> shared_table;
  // Whose failures these are, for the counters in the table (/metrics).
  AuthService service = AuthService::Other;
  // From the config: [auth] cache_ttl/cache_size/account_failures/failure_delay and
  // [limits] auth_failures/ipv6_prefix; shared_table = ThrottleTable::inherited().
  static AuthenticatorOptions from_config(const tern::config::Config& c);
};

class Authenticator {
 public:
  Authenticator(AccountLookup lookup, AuthenticatorOptions opts = {}, Clock clock = {});

  // Cheap, non-blocking: may this login attempt go ahead, and after what delay?
  AuthDecision check_allowed(std::string_view ip, std::string_view login);

  // BLOCKING. Looks the login up, verifies the password (cache hit → no hash), records
  // the outcome in the throttle and logs one line per failure (login, ip, reason;
  // never the password). Returns Refused without verifying if check_allowed() would.
  // `session` (optional) prefixes the log line.
  AuthResult verify(std::string_view ip, std::string_view login, std::string_view password,
                    std::string_view session = {});

  // SCRAM lookup: the credential of an enabled account, else nullopt (also on store error).
  std::optional<ScramCredential> scram_credential(std::string_view login);
  // BLOCKING. The same for the SCRAM exchange, telling a store error (TempFail) apart.
  ScramLookupResult lookup_scram(std::string_view login, std::string_view session = {});

  // The minimum time of a failed login (see AuthenticatorOptions::failure_time).
  // BLOCKING the first time when automatic (it measures one yescrypt verification).
  std::chrono::nanoseconds failure_time();
  const std::string& fake_salt_secret() const { return fake_salt_secret_; }
  // The login as counted and logged (options' canonicaliser, then canonical_login).
  std::string canonical(std::string_view login) const;
  // Outcome of an exchange verified elsewhere (SCRAM); failure is logged.
  void record_success(std::string_view ip, std::string_view login);
  void record_failure(std::string_view ip, std::string_view login, std::string_view reason,
                      std::string_view session = {});

  AuthCache& cache() { return cache_; }
  Throttle& throttle() { return throttle_; }

 private:
  AccountLookup lookup_;
  AuthCache cache_;
  Throttle throttle_;
  Canonicaliser canonical_;
  AuthService service_;
  std::chrono::nanoseconds failure_time_{0};
  std::once_flag failure_time_once_;
  std::string fake_salt_secret_;
};

}  // namespace tern::auth
