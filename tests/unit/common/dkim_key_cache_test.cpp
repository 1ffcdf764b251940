// tern::dkim::KeyCache: a parsed key is reused only while DNS gives the same k= and p=;
// a rotated or revoked key is never used from the cache; bad keys keep their error; the
// cache stays within its capacity; the verifier gives the same results with it.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tern/dkim/key_cache.hpp"
#include "tern/dkim/signer.hpp"
#include "tern/dkim/verifier.hpp"

using namespace tern;

namespace {

const std::string kMsg =
    "From: Joe <joe@example.com>\r\nTo: Sue <sue@example.net>\r\nSubject: cache\r\n\r\nHello.\r\n";

checks::DnsAnswer txt(std::string value) {
  return checks::DnsAnswer{checks::DnsStatus::ok, {checks::DnsRecord{std::move(value), 0}}};
}

std::string signed_by(const dkim::PrivateKey& k, const std::string& selector) {
  dkim::SignOptions o;
  o.domain = "example.com";
  o.selector = selector;
  o.timestamp = 1700000000;
  std::string err;
  auto field = dkim::sign(kMsg, k, o, &err);
  REQUIRE(field);
  return *field + kMsg;
}

dkim::Result verify_with(const std::string& msg, const checks::DnsAnswer& key, dkim::KeyCache* cache) {
  dkim::Verifier v(msg);
  auto r = v.verify([&](std::string_view) { return &key; }, 1700000000, cache);
  REQUIRE(r.size() == 1);
  return r[0].result;
}

}  // namespace

TEST_CASE("key cache: a hit needs the same name, k= and p=", "[dkim][keycache]") {
  std::string err;
  auto a = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  auto b = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  REQUIRE(a);
  REQUIRE(b);
  dkim::KeyCache cache(16);
  auto k1 = cache.get("s._domainkey.example.com", dkim::KeyType::ed25519, a->public_p(), &err);
  REQUIRE(k1);
  CHECK(cache.stats().misses == 1);
  auto k2 = cache.get("s._domainkey.example.com", dkim::KeyType::ed25519, a->public_p(), &err);
  REQUIRE(k2);
  CHECK(cache.stats().hits == 1);
  CHECK(k2->evp() == k1->evp());  // the parsed key itself, shared
  // Another name with the same p= is its own entry.
  auto k3 = cache.get("t._domainkey.example.com", dkim::KeyType::ed25519, a->public_p(), &err);
  REQUIRE(k3);
  CHECK(cache.stats().misses == 2);
  // The record changed (rotation): parsed again, the entry replaced, not added.
  auto k4 = cache.get("s._domainkey.example.com", dkim::KeyType::ed25519, b->public_p(), &err);
  REQUIRE(k4);
  CHECK(k4->evp() != k1->evp());
  CHECK(cache.stats().misses == 3);
  CHECK(cache.stats().entries == 2);
  // Same p= text but another k=: not the cached key.
  auto k5 = cache.get("s._domainkey.example.com", dkim::KeyType::rsa, b->public_p(), &err);
  CHECK_FALSE(k5);
  CHECK(err.find("RSA") != std::string::npos);
}

TEST_CASE("key cache: a bad p= keeps its error", "[dkim][keycache]") {
  dkim::KeyCache cache(4);
  std::string err1, err2;
  CHECK_FALSE(cache.get("x._domainkey.example.com", dkim::KeyType::ed25519, "AAAA", &err1));
  CHECK_FALSE(cache.get("x._domainkey.example.com", dkim::KeyType::ed25519, "AAAA", &err2));
  CHECK(err1 == "an ed25519 p= must be 32 octets");
  CHECK(err2 == err1);
  CHECK(cache.stats().hits == 1);
}

TEST_CASE("key cache: bounded, least recently used dropped first", "[dkim][keycache]") {
  std::string err;
  auto a = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  REQUIRE(a);
  dkim::KeyCache cache(3);
  for (int i = 0; i < 3; ++i)
    REQUIRE(cache.get("k" + std::to_string(i), dkim::KeyType::ed25519, a->public_p(), &err));
  REQUIRE(cache.get("k0", dkim::KeyType::ed25519, a->public_p(), &err));  // k0 used: k1 is oldest
  REQUIRE(cache.get("k3", dkim::KeyType::ed25519, a->public_p(), &err));  // drops k1
  CHECK(cache.stats().entries == 3);
  auto before = cache.stats();
  REQUIRE(cache.get("k0", dkim::KeyType::ed25519, a->public_p(), &err));
  REQUIRE(cache.get("k2", dkim::KeyType::ed25519, a->public_p(), &err));
  CHECK(cache.stats().hits == before.hits + 2);
  REQUIRE(cache.get("k1", dkim::KeyType::ed25519, a->public_p(), &err));
  CHECK(cache.stats().misses == before.misses + 1);
  CHECK(cache.stats().entries == 3);
}

TEST_CASE("verifier with a key cache: rotation and revocation are seen at once", "[dkim][keycache]") {
  std::string err;
  auto rsa = dkim::PrivateKey::generate(dkim::KeyType::rsa, 2048, &err);
  auto other = dkim::PrivateKey::generate(dkim::KeyType::rsa, 2048, &err);
  REQUIRE(rsa);
  REQUIRE(other);
  dkim::KeyCache cache;
  const std::string msg = signed_by(*rsa, "r");
  CHECK(verify_with(msg, txt(rsa->dns_txt()), &cache) == dkim::Result::pass);
  CHECK(verify_with(msg, txt(rsa->dns_txt()), &cache) == dkim::Result::pass);
  CHECK(cache.stats().hits == 1);
  // DNS now publishes another key under the same selector: the cached one is not used.
  CHECK(verify_with(msg, txt(other->dns_txt()), &cache) == dkim::Result::fail);
  // Revoked (empty p=): permerror, as without a cache.
  dkim::Verifier v(msg);
  auto revoked = txt("v=DKIM1; k=rsa; p=");
  auto r = v.verify([&](std::string_view) { return &revoked; }, 1700000000, &cache);
  REQUIRE(r.size() == 1);
  CHECK(r[0].result == dkim::Result::permerror);
  CHECK(r[0].reason == "key revoked");
  // And the original key again.
  CHECK(verify_with(msg, txt(rsa->dns_txt()), &cache) == dkim::Result::pass);
}

TEST_CASE("key cache: shared by threads verifying at once", "[dkim][keycache]") {
  std::string err;
  auto ed = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  auto rsa = dkim::PrivateKey::generate(dkim::KeyType::rsa, 2048, &err);
  REQUIRE(ed);
  REQUIRE(rsa);
  const std::string m1 = signed_by(*ed, "e"), m2 = signed_by(*rsa, "r");
  const auto k1 = txt(ed->dns_txt()), k2 = txt(rsa->dns_txt());
  dkim::KeyCache cache(8);
  std::vector<int> passes(4, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string& m = (i + t) % 2 ? m1 : m2;
        const auto& k = (i + t) % 2 ? k1 : k2;
        dkim::Verifier v(m);
        auto r = v.verify([&](std::string_view) { return &k; }, 1700000000, &cache);
        if (r.size() == 1 && r[0].result == dkim::Result::pass) ++passes[t];
      }
    });
  for (auto& t : ts) t.join();
  CHECK(passes == std::vector<int>(4, 50));
  CHECK(cache.stats().entries == 2);
  CHECK(cache.stats().hits >= 190);
}
