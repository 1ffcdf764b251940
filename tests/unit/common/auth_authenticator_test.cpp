// AuthCache, Throttle and Authenticator with an injected clock and real hashes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "tern/auth/authenticator.hpp"

using namespace tern::auth;
using namespace std::chrono_literals;

namespace {

struct FakeClock {  // a manual clock, not a fake of anything under test
  TimePoint t = TimePoint{} + 1000h;
  Clock fn() {
    return [this] { return t; };
  }
};

bool contains(const void* mem, std::size_t n, std::string_view needle) {
  auto* p = static_cast<const char*>(mem);
  return std::search(p, p + n, needle.begin(), needle.end()) != p + n;
}

}  // namespace

TEST_CASE("AuthCache: hit, miss on other password or changed hash, expiry", "[auth][cache]") {
  FakeClock clk;
  AuthCache c(60s, 100, clk.fn());
  REQUIRE(c.enabled());
  CHECK_FALSE(c.lookup("a@x", "pw", "$y$hash1"));
  c.remember("a@x", "pw", "$y$hash1");
  CHECK(c.size() == 1);
  CHECK(c.lookup("a@x", "pw", "$y$hash1"));
  CHECK_FALSE(c.lookup("a@x", "pW", "$y$hash1"));
  CHECK_FALSE(c.lookup("b@x", "pw", "$y$hash1"));
  CHECK_FALSE(c.lookup("a@x", "pw", "$y$hash2"));  // password changed: new hash misses
  // The separators keep ("a", "b\0c") apart from ("a\0b", "c").
  c.remember("ab", "c", "h");
  CHECK_FALSE(c.lookup("a", "bc", "h"));

  clk.t += 59s;
  CHECK(c.lookup("a@x", "pw", "$y$hash1"));
  clk.t += 2s;
  CHECK_FALSE(c.lookup("a@x", "pw", "$y$hash1"));  // expired and dropped
  CHECK(c.size() == 1);                            // only ("ab","c","h") left
  c.clear();
  CHECK(c.size() == 0);
}

TEST_CASE("AuthCache: LRU eviction and disabled cache", "[auth][cache]") {
  FakeClock clk;
  AuthCache c(3600s, 3, clk.fn());
  c.remember("u1", "p", "h");
  c.remember("u2", "p", "h");
  c.remember("u3", "p", "h");
  CHECK(c.lookup("u1", "p", "h"));  // u1 is now the most recently used
  c.remember("u4", "p", "h");       // evicts u2
  CHECK(c.size() == 3);
  CHECK(c.lookup("u1", "p", "h"));
  CHECK_FALSE(c.lookup("u2", "p", "h"));
  CHECK(c.lookup("u3", "p", "h"));
  CHECK(c.lookup("u4", "p", "h"));

  AuthCache off(0s, 100, clk.fn());
  CHECK_FALSE(off.enabled());
  off.remember("u", "p", "h");
  CHECK_FALSE(off.lookup("u", "p", "h"));
  AuthCache none(60s, 0, clk.fn());
  none.remember("u", "p", "h");
  CHECK_FALSE(none.lookup("u", "p", "h"));
}

TEST_CASE("AuthCache: entries hold no password, login or hash", "[auth][cache]") {
  AuthCache c(60s, 10);
  const std::string pw = "Very-Secret-Pass-9000";
  c.remember("carol@example.test", pw, "$6$abcdefgh$xyz");
  auto entries = c.entries();
  REQUIRE(entries.size() == 1);
  // The entry type is a fixed-size key and a time point: nothing variable-length.
  static_assert(sizeof(AuthCache::Entry) <= sizeof(AuthCache::Key) + sizeof(TimePoint) + 8);
  const auto& e = entries[0];
  CHECK_FALSE(contains(&e, sizeof e, pw.substr(0, 6)));
  CHECK_FALSE(contains(&e, sizeof e, "carol"));
  CHECK_FALSE(contains(&e, sizeof e, "$6$"));
  // Two caches (two processes) key the same triple differently: per-process secret.
  AuthCache c2(60s, 10);
  c2.remember("carol@example.test", pw, "$6$abcdefgh$xyz");
  CHECK(c2.entries()[0].key != e.key);
}

TEST_CASE("AuthCache: concurrent use", "[auth][cache]") {
  AuthCache c(60s, 50);
  std::atomic<int> hits{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string u = "u" + std::to_string((i + t) % 80);
        if (c.lookup(u, "p", "h")) ++hits;
        else c.remember(u, "p", "h");
      }
    });
  for (auto& t : ts) t.join();
  CHECK(c.size() <= 50);
  CHECK(hits.load() > 0);
}

TEST_CASE("Throttle: growing delay, refusal after N, window expiry", "[auth][throttle]") {
  FakeClock clk;
  ThrottleConfig cfg;
  cfg.ip_failures = 5;
  cfg.window = 60s;
  cfg.base_delay = 1000ms;
  cfg.max_delay = 4000ms;
  Throttle t(cfg, clk.fn());

  std::vector<long> delays;
  for (int i = 0; i < 5; ++i) {
    AuthDecision d = t.check("192.0.2.1", "bob");
    REQUIRE_FALSE(d.refuse);
    delays.push_back(static_cast<long>(d.delay.count()));
    t.record_failure("192.0.2.1", "bob");
    clk.t += 1s;
  }
  CHECK(delays == std::vector<long>{0, 1000, 2000, 4000, 4000});  // capped at max_delay
  AuthDecision d = t.check("192.0.2.1", "bob");
  CHECK(d.refuse);
  CHECK(d.retry_after == 55s);  // first failure at t0, now t0+5s, window 60s
  // Another IP is not refused, but the account's failures still delay it.
  d = t.check("192.0.2.2", "bob");
  CHECK_FALSE(d.refuse);
  CHECK(d.delay == 4000ms);
  d = t.check("192.0.2.2", "alice");
  CHECK_FALSE(d.refuse);
  CHECK(d.delay == 0ms);
  CHECK(t.ip_failures("192.0.2.1") == 5);
  CHECK(t.account_failures("BOB") == 5);  // logins compare case-insensitively

  clk.t += 55s;  // the first failure leaves the window
  d = t.check("192.0.2.1", "bob");
  CHECK_FALSE(d.refuse);
  CHECK(t.ip_failures("192.0.2.1") == 4);
  clk.t += 10min;
  d = t.check("192.0.2.1", "bob");
  CHECK_FALSE(d.refuse);
  CHECK(d.delay == 0ms);
  CHECK(t.ip_failures("192.0.2.1") == 0);
}

TEST_CASE("Throttle: success resets the account, not the IP", "[auth][throttle]") {
  FakeClock clk;
  Throttle t(ThrottleConfig{}, clk.fn());
  t.record_failure("198.51.100.7", "dave");
  t.record_failure("198.51.100.7", "dave");
  CHECK(t.account_failures("dave") == 2);
  t.record_success("198.51.100.7", "dave");
  CHECK(t.account_failures("dave") == 0);
  CHECK(t.ip_failures("198.51.100.7") == 2);
  CHECK(t.check("203.0.113.9", "dave").delay == 0ms);
}

TEST_CASE("Throttle: bounded tables", "[auth][throttle]") {
  FakeClock clk;
  ThrottleConfig cfg;
  cfg.max_tracked = 100;
  Throttle t(cfg, clk.fn());
  for (int i = 0; i < 1000; ++i) {
    t.record_failure("10.0.0." + std::to_string(i), "user" + std::to_string(i));
    clk.t += 1ms;
  }
  // The most recent ones are remembered, the oldest were dropped.
  CHECK(t.ip_failures("10.0.0.999") == 1);
  CHECK(t.ip_failures("10.0.0.0") == 0);
}

TEST_CASE("Authenticator: verify, cache hit, password change, disabled, unknown", "[auth]") {
  FakeClock clk;
  std::map<std::string, AccountRecord> db;
  db["erin@example.test"] = AccountRecord{7, "erin@example.test", hash_password("pw-erin"), {}, true};
  db["off@example.test"] = AccountRecord{8, "off@example.test", hash_password("pw-off"), {}, false};
  std::atomic<int> lookups{0};
  AccountLookup lookup = [&](std::string_view login) -> std::optional<AccountRecord> {
    ++lookups;
    if (login == "broken@example.test") throw std::runtime_error("store down");
    auto it = db.find(std::string(login));
    if (it == db.end()) return std::nullopt;
    return it->second;
  };
  AuthenticatorOptions opts;
  opts.throttle.ip_failures = 3;
  Authenticator a(lookup, opts, clk.fn());

  AuthResult r = a.verify("127.0.0.1", "erin@example.test", "pw-erin", "S1");
  REQUIRE(r.ok());
  CHECK_FALSE(r.cache_hit);
  CHECK(r.account->id == 7);
  r = a.verify("127.0.0.1", "erin@example.test", "pw-erin", "S2");
  CHECK(r.ok());
  CHECK(r.cache_hit);
  CHECK(a.cache().size() == 1);

  r = a.verify("127.0.0.1", "erin@example.test", "wrong", "S3");
  CHECK(r.status == AuthStatus::BadCredentials);
  CHECK_FALSE(r.account);
  CHECK(a.check_allowed("127.0.0.1", "erin@example.test").delay == 1000ms);

  // Password change: the stored hash differs, the old password no longer logs in even
  // though it is cached, and the new one verifies by hash.
  db["erin@example.test"].password_hash = hash_password("pw-new");
  r = a.verify("127.0.0.2", "erin@example.test", "pw-erin");
  CHECK(r.status == AuthStatus::BadCredentials);
  r = a.verify("127.0.0.2", "erin@example.test", "pw-new");
  CHECK(r.ok());
  CHECK_FALSE(r.cache_hit);
  CHECK(a.throttle().account_failures("erin@example.test") == 0);  // success reset

  r = a.verify("127.0.0.3", "off@example.test", "pw-off");
  CHECK(r.status == AuthStatus::Disabled);
  r = a.verify("127.0.0.3", "nobody@example.test", "x");
  CHECK(r.status == AuthStatus::BadCredentials);
  r = a.verify("127.0.0.4", "broken@example.test", "x");
  CHECK(r.status == AuthStatus::TempFail);

  // 127.0.0.3 has 2 failures; a third makes it refused without a lookup.
  r = a.verify("127.0.0.3", "erin@example.test", "bad");
  CHECK(r.status == AuthStatus::BadCredentials);
  CHECK(a.check_allowed("127.0.0.3", "erin@example.test").refuse);
  int before = lookups.load();
  r = a.verify("127.0.0.3", "erin@example.test", "pw-new");
  CHECK(r.status == AuthStatus::Refused);
  CHECK(lookups.load() == before);
  clk.t += 61s;
  CHECK(a.verify("127.0.0.3", "erin@example.test", "pw-new").ok());
}

TEST_CASE("Authenticator: SCRAM lookup and options from config", "[auth]") {
  auto cred = make_scram_credential("pw");
  AccountLookup lookup = [&](std::string_view login) -> std::optional<AccountRecord> {
    if (login == "s@x") return AccountRecord{1, "s@x", "", cred, true};
    if (login == "d@x") return AccountRecord{2, "d@x", "", cred, false};
    if (login == "h@x") return AccountRecord{3, "h@x", "$6$x$y", std::nullopt, true};
    return std::nullopt;
  };
  Authenticator a(lookup);
  CHECK(a.scram_credential("s@x") == cred);
  CHECK_FALSE(a.scram_credential("d@x"));
  CHECK_FALSE(a.scram_credential("h@x"));
  CHECK_FALSE(a.scram_credential("nobody"));

  tern::config::Config c;
  c.auth.cache_ttl = 120s;
  c.auth.cache_size = 5;
  c.limits.auth_failures = 9;
  auto o = AuthenticatorOptions::from_config(c);
  CHECK(o.cache_ttl == 120s);
  CHECK(o.cache_size == 5);
  CHECK(o.throttle.ip_failures == 9);
}

TEST_CASE("Throttle: the account key is the canonical login", "[auth][throttle]") {
  // Before: " bob@example.test" and "bob@example.test." were separate keys, so
  // varying the spelling escaped the per-account count.
  FakeClock clk;
  Throttle t(ThrottleConfig{}, clk.fn());
  for (const char* spelling : {"bob@example.test", " bob@example.test", "bob@example.test.",
                               "BOB@Example.Test", "\tbob@example.test. "})
    t.record_failure("192.0.2.1", spelling);
  CHECK(t.account_failures("bob@example.test") == 5);
  CHECK(t.tracked_accounts() == 1);
  CHECK(canonical_login("  Bob@Example.TEST.. ") == "bob@example.test");
  CHECK(canonical_login(std::string(1000, 'a')).size() == kMaxLoginKey);
}

TEST_CASE("Throttle: an account over its limit is refused from any IP", "[auth][throttle]") {
  // Before: the per-account counter only delayed; a botnet (one try per IP) could go on.
  FakeClock clk;
  ThrottleConfig cfg;
  cfg.ip_failures = 5;
  cfg.account_failures = 3;
  Throttle t(cfg, clk.fn());
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(t.check("192.0.2." + std::to_string(i), "carol@example.test").refuse);
    t.record_failure("192.0.2." + std::to_string(i), "carol@example.test");
    clk.t += 1s;
  }
  AuthDecision d = t.check("198.51.100.1", "carol@example.test.");
  CHECK(d.refuse);
  CHECK(d.retry_after == 57s);
  CHECK_FALSE(t.check("198.51.100.1", "dave@example.test").refuse);
  clk.t += 58s;
  CHECK_FALSE(t.check("198.51.100.1", "carol@example.test").refuse);
}

TEST_CASE("Throttle: IPv6 clients count per /64 (configurable)", "[auth][throttle]") {
  FakeClock clk;
  ThrottleConfig cfg;
  cfg.ip_failures = 3;
  Throttle t(cfg, clk.fn());
  t.record_failure("2001:db8:1:2::1", "");
  t.record_failure("2001:db8:1:2:ffff::9", "");
  t.record_failure("2001:db8:1:2:abcd:1234:5678:9abc", "");
  CHECK(t.check("2001:db8:1:2::77", "").refuse);       // same /64
  CHECK_FALSE(t.check("2001:db8:1:3::1", "").refuse);  // next /64
  CHECK(t.tracked_ips() == 1);
  // IPv4-mapped addresses count as the IPv4 address.
  t.record_failure("::ffff:192.0.2.9", "");
  CHECK(t.ip_failures("192.0.2.9") == 1);

  ThrottleConfig c128 = cfg;
  c128.ipv6_prefix = 128;
  Throttle each(c128, clk.fn());
  each.record_failure("2001:db8::1", "");
  CHECK(each.ip_failures("2001:db8::2") == 0);
  CHECK(each.ip_failures("2001:db8::1") == 1);
}

TEST_CASE("Throttle: table memory is bounded (keys, count, per-key history)", "[auth][throttle]") {
  FakeClock clk;
  ThrottleConfig cfg;
  cfg.max_tracked = 50;
  cfg.ip_failures = 5;
  cfg.account_failures = 10;
  Throttle t(cfg, clk.fn());
  for (int i = 0; i < 5000; ++i) {
    // Distinct huge logins and IPv6 addresses from one /64: the account table stays at
    // its cap, the IP table at one key.
    t.record_failure("2001:db8::" + std::to_string(i % 9999), std::to_string(i) + std::string(4096, 'x'));
  }
  // 50 rounded up to whole sets of 8: 56 slots, all in use, no more.
  CHECK(t.table().capacity(ThrottleKind::Account) == 56);
  CHECK(t.tracked_accounts() == 56);
  CHECK(t.tracked_ips() == 1);
  // A key's memory does not grow with its failures (60 counters): all are counted.
  CHECK(t.ip_failures("2001:db8::1") == 5000);
  // The most recent logins are still counted (keys cut to kMaxLoginKey), the oldest went.
  CHECK(t.account_failures("4999" + std::string(4096, 'x')) == 1);
  CHECK(t.account_failures("0" + std::string(4096, 'x')) == 0);
}
