// Login pipeline: AuthCache (recent successful verifications, as Dovecot's
// auth_cache — see bench-facts: yescrypt costs ≈30–60 ms of CPU per login, so a
// reconnecting client should not pay it each time), Throttle (design §6: failed
// AUTH throttled per IP and per account) and Authenticator combining them.
#include "tern/auth/authenticator.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "tern/util/ip_prefix.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace tern::auth {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Logins are printed in logs: keep control characters out of the line.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 256)) out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

// ============================================================== AuthCache
AuthCache::AuthCache(std::chrono::seconds ttl, std::size_t max_entries, Clock clock)
    : ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {
  // The secret makes keys useless outside this process: an entry (or a memory dump)
  // cannot be used to test password guesses offline without it.
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1)
    throw std::runtime_error("AuthCache: RAND_bytes failed");
}

TimePoint AuthCache::now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }

std::size_t AuthCache::KeyHash::operator()(const Key& k) const noexcept {
  std::size_t h;
  std::memcpy(&h, k.data(), sizeof h);  // already uniformly random (HMAC output)
  return h;
}

AuthCache::Key AuthCache::key_for(std::string_view login, std::string_view password,
                                  std::string_view stored_hash) const {
  Key key{};
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_END};
  std::size_t len = 0;
  const unsigned char zero = 0;
  bool ok = ctx && EVP_MAC_init(ctx, secret_.data(), secret_.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(login.data()), login.size()) == 1 &&
            EVP_MAC_update(ctx, &zero, 1) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(password.data()), password.size()) == 1 &&
            EVP_MAC_update(ctx, &zero, 1) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(stored_hash.data()), stored_hash.size()) == 1 &&
            EVP_MAC_final(ctx, key.data(), &len, key.size()) == 1 && len == key.size();
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) throw std::runtime_error("AuthCache: HMAC failed");
  return key;
}

bool AuthCache::lookup(std::string_view login, std::string_view password,
                       std::string_view stored_hash) {
  if (!enabled()) return false;
  Key k = key_for(login, password, stored_hash);
  std::lock_guard lock(mu_);
  auto it = index_.find(k);
  if (it == index_.end()) return false;
  if (it->second->expires <= now()) {
    lru_.erase(it->second);
    index_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void AuthCache::remember(std::string_view login, std::string_view password,
                         std::string_view stored_hash) {
  if (!enabled()) return;
  Key k = key_for(login, password, stored_hash);
  std::lock_guard lock(mu_);
  TimePoint exp = now() + ttl_;
  auto it = index_.find(k);
  if (it != index_.end()) {
    it->second->expires = exp;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{k, exp});
  index_.emplace(k, lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void AuthCache::clear() {
  std::lock_guard lock(mu_);
  index_.clear();
  lru_.clear();
}

std::size_t AuthCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

std::vector<AuthCache::Entry> AuthCache::entries() const {
  std::lock_guard lock(mu_);
  return {lru_.begin(), lru_.end()};
}

// ============================================================== canonical keys
std::string canonical_login(std::string_view login) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!login.empty() && ws(login.front())) login.remove_prefix(1);
  while (!login.empty() && ws(login.back())) login.remove_suffix(1);
  // The store drops one trailing dot of the domain (an absolute name); more cannot be a
  // login, but must not make a fresh key either.
  while (!login.empty() && login.back() == '.') login.remove_suffix(1);
  return lower(login.substr(0, kMaxLoginKey));
}

// ============================================================== Throttle
namespace {
ThrottleTable::Geometry geometry_for(const ThrottleConfig& cfg) {
  ThrottleTable::Geometry g;
  g.entries = std::max<std::size_t>(cfg.max_tracked, 1);
  g.window = cfg.window;
  return g;
}
}  // namespace

Throttle::Throttle(ThrottleConfig cfg, Clock clock, std::shared_ptr<ThrottleTable> table)
    : cfg_(cfg), clock_(std::move(clock)), table_(std::move(table)) {
  if (!table_) table_ = ThrottleTable::make_local(geometry_for(cfg_));
  cfg_.window = std::chrono::duration_cast<std::chrono::seconds>(table_->window());
}

TimePoint Throttle::now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }

std::string Throttle::ip_key(std::string_view ip) const {
  return util::ip_limit_key(ip.substr(0, 64), cfg_.ipv6_prefix);
}

AuthDecision Throttle::check(std::string_view ip, std::string_view login) {
  const TimePoint n = now();
  AuthDecision d;
  auto refuse_until = [&](const ThrottleTable::Count& c) {
    // Refused until the oldest failures that count leave the window.
    d.refuse = true;
    d.retry_after = std::max(std::chrono::ceil<std::chrono::seconds>(c.frees - n), std::chrono::seconds(1));
    return d;
  };
  const auto ipc = table_->count(ThrottleKind::Ip, ip_key(ip), n, cfg_.ip_failures);
  if (cfg_.ip_failures > 0 && ipc.count >= cfg_.ip_failures) return refuse_until(ipc);
  ThrottleTable::Count acct;
  if (!login.empty()) {
    acct = table_->count(ThrottleKind::Account, canonical_login(login), n, cfg_.account_failures);
    if (cfg_.account_failures > 0 && acct.count >= cfg_.account_failures) return refuse_until(acct);
  }
  const unsigned f = std::max(ipc.count, acct.count);
  if (f > 0 && cfg_.base_delay.count() > 0) {
    auto delay = cfg_.base_delay;
    for (unsigned i = 1; i < f && delay < cfg_.max_delay; ++i) delay *= 2;
    d.delay = std::min(delay, cfg_.max_delay);
  }
  return d;
}

void Throttle::record_failure(std::string_view ip, std::string_view login) {
  const TimePoint n = now();
  table_->add_failure(ThrottleKind::Ip, ip_key(ip), n);
  if (std::string k = canonical_login(login); !k.empty()) table_->add_failure(ThrottleKind::Account, k, n);
}

void Throttle::record_success(std::string_view /*ip*/, std::string_view login) {
  table_->clear(ThrottleKind::Account, canonical_login(login));
}

unsigned Throttle::ip_failures(std::string_view ip) { return table_->count(ThrottleKind::Ip, ip_key(ip), now()).count; }

unsigned Throttle::account_failures(std::string_view login) {
  return table_->count(ThrottleKind::Account, canonical_login(login), now()).count;
}

std::size_t Throttle::tracked_ips() { return table_->tracked(ThrottleKind::Ip, now()); }

std::size_t Throttle::tracked_accounts() { return table_->tracked(ThrottleKind::Account, now()); }

// ============================================================== Authenticator
std::string_view status_name(AuthStatus s) {
  switch (s) {
    case AuthStatus::Ok: return "ok";
    case AuthStatus::BadCredentials: return "bad credentials";
    case AuthStatus::Disabled: return "account disabled";
    case AuthStatus::Refused: return "throttled";
    case AuthStatus::TempFail: return "lookup failed";
  }
  return "unknown";
}

AuthenticatorOptions AuthenticatorOptions::from_config(const tern::config::Config& c) {
  AuthenticatorOptions o;
  o.cache_ttl = c.auth.cache_ttl;
  o.cache_size = c.auth.cache_size;
  o.throttle.ip_failures = c.limits.auth_failures;
  o.throttle.ipv6_prefix = c.limits.ipv6_prefix;
  o.throttle.account_failures = c.auth.account_failures;
  o.throttle.base_delay = c.auth.failure_delay;
  o.shared_table = ThrottleTable::inherited();
  return o;
}

Authenticator::Authenticator(AccountLookup lookup, AuthenticatorOptions opts, Clock clock)
    : lookup_(std::move(lookup)),
      cache_(opts.cache_ttl, opts.cache_size, clock),
      throttle_(opts.throttle, clock, std::move(opts.shared_table)),
      canonical_(std::move(opts.canonical)),
      service_(opts.service),
      failure_time_(opts.failure_time),
      fake_salt_secret_(std::move(opts.fake_salt_secret)) {}

std::string Authenticator::canonical(std::string_view login) const {
  if (!canonical_) return canonical_login(login);
  return canonical_login(canonical_(login.substr(0, 2 * kMaxLoginKey)));
}

std::chrono::nanoseconds Authenticator::failure_time() {
  std::call_once(failure_time_once_, [this] {
    if (failure_time_.count() > 0) return;
    // The slowest scheme we make is yescrypt; imported $6$ and $2b$ hashes with default
    // costs are faster. Twice one measured verification leaves room for load.
    const std::string h = hash_password("tern-calibration");
    auto best = std::chrono::nanoseconds::max();
    for (int i = 0; i < 3; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      (void)verify_password("tern-calibration-wrong", h);
      best = std::min(best, std::chrono::steady_clock::now() - t0);
    }
    failure_time_ = std::max<std::chrono::nanoseconds>(2 * best, std::chrono::milliseconds(10));
  });
  return failure_time_;
}

AuthDecision Authenticator::check_allowed(std::string_view ip, std::string_view login) {
  AuthDecision d = throttle_.check(ip, login.empty() ? std::string() : canonical(login));
  if (d.refuse) throttle_.table().count_refusal(service_);
  return d;
}

void Authenticator::record_success(std::string_view ip, std::string_view login) {
  throttle_.record_success(ip, canonical(login));
}

void Authenticator::record_failure(std::string_view ip, std::string_view login,
                                   std::string_view reason, std::string_view session) {
  throttle_.record_failure(ip, login.empty() ? std::string() : canonical(login));
  throttle_.table().count_failure(service_);
  spdlog::warn("{}: auth failed: login=<{}> ip={} reason={}", session.empty() ? "-" : session,
               printable(login), printable(ip), reason);
}

AuthResult Authenticator::verify(std::string_view ip, std::string_view login,
                                 std::string_view password, std::string_view session) {
  AuthResult r;
  const std::string key = canonical(login);
  AuthDecision d = throttle_.check(ip, key);
  if (d.refuse) {
    throttle_.table().count_refusal(service_);
    r.status = AuthStatus::Refused;
    r.detail = "throttled";
    spdlog::warn("{}: auth refused: login=<{}> ip={} reason=throttled retry_after={}s",
                 session.empty() ? "-" : session, printable(login), printable(ip),
                 d.retry_after.count());
    return r;
  }
  std::optional<AccountRecord> rec;
  try {
    rec = lookup_ ? lookup_(login) : std::nullopt;
  } catch (const std::exception& e) {
    r.status = AuthStatus::TempFail;
    r.detail = "lookup failed";
    spdlog::error("{}: auth lookup error: login=<{}> ip={}: {}", session.empty() ? "-" : session,
                  printable(login), printable(ip), e.what());
    return r;
  }
  // No hash is computed for an unknown or disabled login: the caller answers every
  // failure after failure_time() (login_exchange does), which hides the difference.
  if (!rec) {
    r.status = AuthStatus::BadCredentials;
    r.detail = "unknown user";
    record_failure(ip, login, r.detail, session);
    return r;
  }
  if (!rec->enabled) {
    r.status = AuthStatus::Disabled;
    r.detail = std::string(status_name(r.status));
    record_failure(ip, login, r.detail, session);
    return r;
  }
  const std::string& who = rec->address.empty() ? key : rec->address;
  if (cache_.lookup(who, password, rec->password_hash)) {
    r.status = AuthStatus::Ok;
    r.cache_hit = true;
  } else if (verify_password(password, rec->password_hash)) {
    cache_.remember(who, password, rec->password_hash);
    r.status = AuthStatus::Ok;
  } else {
    r.status = AuthStatus::BadCredentials;
    r.detail = "wrong password";
    record_failure(ip, login, r.detail, session);
    return r;
  }
  throttle_.record_success(ip, key);
  if (!rec->address.empty()) throttle_.record_success(ip, canonical(rec->address));
  r.account = std::move(rec);
  return r;
}

std::optional<ScramCredential> Authenticator::scram_credential(std::string_view login) {
  auto r = lookup_scram(login);
  if (r.status != ScramLookupResult::Status::Found) return std::nullopt;
  return r.account->scram;
}

ScramLookupResult Authenticator::lookup_scram(std::string_view login, std::string_view session) {
  ScramLookupResult r;
  std::optional<AccountRecord> rec;
  try {
    rec = lookup_ ? lookup_(login) : std::nullopt;
  } catch (const std::exception& e) {
    spdlog::error("{}: scram lookup error: login=<{}>: {}", session.empty() ? "-" : session,
                  printable(login), e.what());
    r.status = ScramLookupResult::Status::TempFail;
    r.detail = "lookup failed";
    return r;
  }
  if (!rec) r.detail = "unknown user";
  else if (!rec->enabled) r.detail = std::string(status_name(AuthStatus::Disabled));
  else if (!rec->scram) r.detail = "no SCRAM credential";
  else {
    r.status = ScramLookupResult::Status::Found;
    r.account = std::move(rec);
  }
  return r;
}

}  // namespace tern::auth
