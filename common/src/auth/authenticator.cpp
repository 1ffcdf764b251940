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

// ============================================================== Throttle
Throttle::Throttle(ThrottleConfig cfg, Clock clock) : cfg_(cfg), clock_(std::move(clock)) {}

TimePoint Throttle::now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }

void Throttle::prune(Counter& c, TimePoint now) const {
  auto first_live = std::find_if(c.failures.begin(), c.failures.end(),
                                 [&](TimePoint t) { return t + cfg_.window > now; });
  c.failures.erase(c.failures.begin(), first_live);
}

void Throttle::evict_if_full(std::unordered_map<std::string, Counter>& t) {
  if (t.size() < cfg_.max_tracked) return;
  TimePoint n = now();
  for (auto it = t.begin(); it != t.end();) {
    prune(it->second, n);
    it = it->second.failures.empty() ? t.erase(it) : std::next(it);
  }
  // Still full (an attack from very many sources): drop the least recently seen.
  while (!t.empty() && t.size() >= cfg_.max_tracked) {
    auto oldest = std::min_element(t.begin(), t.end(), [](const auto& a, const auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    t.erase(oldest);
  }
}

AuthDecision Throttle::check(std::string_view ip, std::string_view login) {
  std::lock_guard lock(mu_);
  TimePoint n = now();
  std::size_t ip_n = 0, acct_n = 0;
  AuthDecision d;
  if (auto it = by_ip_.find(std::string(ip)); it != by_ip_.end()) {
    prune(it->second, n);
    ip_n = it->second.failures.size();
    if (cfg_.ip_failures > 0 && ip_n >= cfg_.ip_failures) {
      // Refused until the oldest failure that counts leaves the window.
      TimePoint frees = it->second.failures[ip_n - cfg_.ip_failures] + cfg_.window;
      d.refuse = true;
      d.retry_after = std::chrono::ceil<std::chrono::seconds>(frees - n);
      return d;
    }
  }
  if (auto it = by_account_.find(lower(login)); it != by_account_.end()) {
    prune(it->second, n);
    acct_n = it->second.failures.size();
  }
  std::size_t f = std::max(ip_n, acct_n);
  if (f > 0) {
    auto delay = cfg_.base_delay;
    for (std::size_t i = 1; i < f && delay < cfg_.max_delay; ++i) delay *= 2;
    d.delay = std::min(delay, cfg_.max_delay);
  }
  return d;
}

void Throttle::record_failure(std::string_view ip, std::string_view login) {
  std::lock_guard lock(mu_);
  TimePoint n = now();
  auto add = [&](std::unordered_map<std::string, Counter>& t, std::string key) {
    auto it = t.find(key);
    if (it == t.end()) {
      evict_if_full(t);
      it = t.emplace(std::move(key), Counter{}).first;
    }
    prune(it->second, n);
    it->second.failures.push_back(n);
    it->second.last_seen = n;
    // Bound one key's memory: older failures beyond what any rule looks at are dropped.
    std::size_t keep = std::max<std::size_t>(cfg_.ip_failures, 64);
    if (it->second.failures.size() > keep)
      it->second.failures.erase(it->second.failures.begin(),
                                it->second.failures.end() - static_cast<std::ptrdiff_t>(keep));
  };
  add(by_ip_, std::string(ip));
  if (!login.empty()) add(by_account_, lower(login));
}

void Throttle::record_success(std::string_view /*ip*/, std::string_view login) {
  std::lock_guard lock(mu_);
  by_account_.erase(lower(login));
}

unsigned Throttle::ip_failures(std::string_view ip) {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(std::string(ip));
  if (it == by_ip_.end()) return 0;
  prune(it->second, now());
  return static_cast<unsigned>(it->second.failures.size());
}

unsigned Throttle::account_failures(std::string_view login) {
  std::lock_guard lock(mu_);
  auto it = by_account_.find(lower(login));
  if (it == by_account_.end()) return 0;
  prune(it->second, now());
  return static_cast<unsigned>(it->second.failures.size());
}

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
  return o;
}

Authenticator::Authenticator(AccountLookup lookup, AuthenticatorOptions opts, Clock clock)
    : lookup_(std::move(lookup)),
      cache_(opts.cache_ttl, opts.cache_size, clock),
      throttle_(opts.throttle, clock) {}

AuthDecision Authenticator::check_allowed(std::string_view ip, std::string_view login) {
  return throttle_.check(ip, login);
}

void Authenticator::record_success(std::string_view ip, std::string_view login) {
  throttle_.record_success(ip, login);
}

void Authenticator::record_failure(std::string_view ip, std::string_view login,
                                   std::string_view reason, std::string_view session) {
  throttle_.record_failure(ip, login);
  spdlog::warn("{}: auth failed: login=<{}> ip={} reason={}", session.empty() ? "-" : session,
               printable(login), printable(ip), reason);
}

AuthResult Authenticator::verify(std::string_view ip, std::string_view login,
                                 std::string_view password, std::string_view session) {
  AuthResult r;
  AuthDecision d = throttle_.check(ip, login);
  if (d.refuse) {
    r.status = AuthStatus::Refused;
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
    spdlog::error("{}: auth lookup error: login=<{}> ip={}: {}", session.empty() ? "-" : session,
                  printable(login), printable(ip), e.what());
    return r;
  }
  if (!rec) {
    // Spend the time a real verification would, so a reply's timing does not tell
    // whether the account exists.
    static const std::string dummy = hash_password("tern-dummy-password");
    (void)verify_password(password, dummy);
    r.status = AuthStatus::BadCredentials;
    record_failure(ip, login, "unknown user", session);
    return r;
  }
  if (!rec->enabled) {
    r.status = AuthStatus::Disabled;
    record_failure(ip, login, status_name(r.status), session);
    return r;
  }
  if (cache_.lookup(rec->address.empty() ? login : rec->address, password, rec->password_hash)) {
    r.status = AuthStatus::Ok;
    r.cache_hit = true;
  } else if (verify_password(password, rec->password_hash)) {
    cache_.remember(rec->address.empty() ? login : rec->address, password, rec->password_hash);
    r.status = AuthStatus::Ok;
  } else {
    r.status = AuthStatus::BadCredentials;
    record_failure(ip, login, "wrong password", session);
    return r;
  }
  throttle_.record_success(ip, login);
  if (!rec->address.empty() && lower(rec->address) != lower(login))
    throttle_.record_success(ip, rec->address);
  r.account = std::move(rec);
  return r;
}

std::optional<ScramCredential> Authenticator::scram_credential(std::string_view login) {
  try {
    auto rec = lookup_ ? lookup_(login) : std::nullopt;
    if (!rec || !rec->enabled) return std::nullopt;
    return rec->scram;
  } catch (const std::exception& e) {
    spdlog::error("-: scram lookup error: login=<{}>: {}", printable(login), e.what());
    return std::nullopt;
  }
}

}  // namespace tern::auth
