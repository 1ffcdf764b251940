// Which DKIM key signs (queue/dkim_keys.hpp): rotation waits for DNS.
#include <catch2/catch.hpp>

#include <map>

#include "queue/dkim_keys.hpp"
#include "tern/dkim/key.hpp"

using namespace tern;
using namespace tern::mta::queue;

namespace {

store::DkimKey key(std::string selector, std::string algo, store::UnixTime created) {
  store::DkimKey k;
  k.domain = "example.test";
  k.selector = std::move(selector);
  k.algorithm = std::move(algo);
  k.created = created;
  k.private_key_pem = "unused by the choice";
  return k;
}

std::vector<std::string> selectors(const std::vector<store::DkimKey>& ks) {
  std::vector<std::string> out;
  for (const auto& k : ks) out.push_back(k.selector);
  return out;
}

}  // namespace

TEST_CASE("one key per algorithm signs without asking DNS, rsa first", "[queue][dkim]") {
  std::vector<store::DkimKey> keys = {key("e1", "ed25519", 10), key("r1", "rsa", 20)};
  int asked = 0;
  auto chosen = choose_signing_keys(keys, [&](const store::DkimKey&) {
    ++asked;
    return Published::no;
  });
  CHECK(selectors(chosen) == std::vector<std::string>{"r1", "e1"});
  CHECK(asked == 0);
  CHECK_FALSE(needs_dns(keys, keys[0]));
  CHECK(choose_signing_keys({}, [](const store::DkimKey&) { return Published::yes; }).empty());
  // An algorithm the signer does not know is skipped.
  CHECK(choose_signing_keys({key("x", "dsa", 1)}, [](const store::DkimKey&) { return Published::yes; }).empty());
}

TEST_CASE("after rotate: the old key signs until the new record is published", "[queue][dkim]") {
  std::vector<store::DkimKey> keys = {key("old", "rsa", 100), key("new", "rsa", 200), key("e", "ed25519", 100)};
  CHECK(needs_dns(keys, keys[0]));
  CHECK_FALSE(needs_dns(keys, keys[2]));
  std::map<std::string, Published> dns = {{"old", Published::yes}, {"new", Published::no}};
  auto ask = [&](const store::DkimKey& k) { return dns.at(k.selector); };
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"old", "e"});
  dns["new"] = Published::yes;  // published: the new key takes over
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"new", "e"});
  dns["old"] = Published::no;  // old record removed first: still the new one
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"new", "e"});
  // DNS unreachable, or neither published: the oldest key (the one before the rotation).
  dns = {{"old", Published::unknown}, {"new", Published::unknown}};
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"old", "e"});
  dns = {{"old", Published::no}, {"new", Published::no}};
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"old", "e"});
  // New unknown (a temporary failure) and old published: old.
  dns = {{"old", Published::yes}, {"new", Published::unknown}};
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"old", "e"});
}

TEST_CASE("three generations: the newest published one signs", "[queue][dkim]") {
  std::vector<store::DkimKey> keys = {key("g2", "ed25519", 200), key("g1", "ed25519", 100), key("g3", "ed25519", 300)};
  std::map<std::string, Published> dns = {{"g1", Published::yes}, {"g2", Published::yes}, {"g3", Published::no}};
  auto ask = [&](const store::DkimKey& k) { return dns.at(k.selector); };
  CHECK(selectors(choose_signing_keys(keys, ask)) == std::vector<std::string>{"g2"});
  // Same creation second: the selector orders them (rotate's "...r2" after "...r").
  std::vector<store::DkimKey> same = {key("t20261201r", "rsa", 5), key("t20261201r2", "rsa", 5)};
  auto all = [](const store::DkimKey&) { return Published::yes; };
  CHECK(selectors(choose_signing_keys(same, all)) == std::vector<std::string>{"t20261201r2"});
}

TEST_CASE("key_published compares the record's p= with the key", "[queue][dkim]") {
  std::string err;
  auto a = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  auto b = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  REQUIRE(a);
  REQUIRE(b);
  store::DkimKey k = key("s1", "ed25519", 1);
  k.private_key_pem = a->to_pem();
  CHECK(dkim_record_name(k) == "s1._domainkey.example.test");
  CHECK(key_published(k, {a->dns_txt()}) == Published::yes);
  CHECK(key_published(k, {"v=spf1 -all", a->dns_txt()}) == Published::yes);
  CHECK(key_published(k, {b->dns_txt()}) == Published::no);  // another key under the name
  CHECK(key_published(k, {}) == Published::no);
  CHECK(key_published(k, {"v=DKIM1; k=ed25519; p="}) == Published::no);  // revoked
  CHECK(key_published(k, {"garbage"}) == Published::no);
  // Folding whitespace inside p= does not matter.
  std::string p = a->public_p();
  CHECK(key_published(k, {"v=DKIM1; k=ed25519; p=" + p.substr(0, 10) + " " + p.substr(10)}) == Published::yes);
}
