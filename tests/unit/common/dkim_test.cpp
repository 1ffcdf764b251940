// DKIM: RFC 6376 §3.4.5 canonicalisation examples, RFC 8463 Appendix A signatures,
// tag-list and key-record parsing, sign → verify round trips (rsa and ed25519, every
// canonicalisation, l=, oversigning) and the failures a verifier must report.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tern/dkim/canon.hpp"
#include "tern/dkim/signer.hpp"
#include "tern/dkim/tag_list.hpp"
#include "tern/dkim/verifier.hpp"
#include "tern/util/base64.hpp"
#include "tern/util/digest.hpp"

using namespace tern;
using dkim::Canon;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

checks::DnsAnswer txt(std::string value) {
  return checks::DnsAnswer{checks::DnsStatus::ok, {checks::DnsRecord{std::move(value), 0}}};
}

std::vector<dkim::SignatureResult> verify(const std::string& msg,
                                          const std::map<std::string, checks::DnsAnswer>& dns,
                                          std::int64_t now = 1700000000) {
  dkim::Verifier v(msg);
  return v.verify(
      [&](std::string_view q) -> const checks::DnsAnswer* {
        auto it = dns.find(std::string(q));
        static const checks::DnsAnswer nx{checks::DnsStatus::nxdomain, {}};
        return it == dns.end() ? &nx : &it->second;
      },
      now);
}

const char* kRfc8463Ed = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const char* kRfc8463Rsa =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";

const std::string kMsg =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner\r\n\tready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.  \r\n"
    "\r\n"
    "We lost the game.\tAre you hungry yet?\r\n"
    "\r\n\r\n";

}  // namespace

TEST_CASE("RFC 6376 3.4.5 canonicalization example", "[dkim][canon]") {
  const std::string headers[] = {"A: X", "B : Y\t\r\n\tZ  "};
  CHECK(dkim::canon_header(headers[0], Canon::relaxed) == "a:X\r\n");
  CHECK(dkim::canon_header(headers[1], Canon::relaxed) == "b:Y Z\r\n");
  CHECK(dkim::canon_header(headers[0], Canon::simple) == "A: X\r\n");
  CHECK(dkim::canon_header(headers[1], Canon::simple) == "B : Y\t\r\n\tZ  \r\n");
  const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
  CHECK(dkim::canon_body_string(body, Canon::relaxed) == " C\r\nD E\r\n");
  CHECK(dkim::canon_body_string(body, Canon::simple) == " C \r\nD \t E\r\n");
}

TEST_CASE("body canonicalization edge cases", "[dkim][canon]") {
  // Empty body: simple is one CRLF, relaxed is empty (RFC 6376 §3.4.3, §3.4.4, errata 3475).
  CHECK(dkim::canon_body_string("", Canon::simple) == "\r\n");
  CHECK(dkim::canon_body_string("", Canon::relaxed) == "");
  CHECK(dkim::canon_body_string("\r\n\r\n", Canon::simple) == "\r\n");
  CHECK(dkim::canon_body_string(" \t\r\n", Canon::relaxed) == "");
  // No final CRLF: one is added.
  CHECK(dkim::canon_body_string("abc", Canon::simple) == "abc\r\n");
  CHECK(dkim::canon_body_string("abc  ", Canon::relaxed) == "abc\r\n");
  // 8-bit octets pass unchanged.
  CHECK(dkim::canon_body_string("caf\xc3\xa9 \r\n", Canon::relaxed) == "caf\xc3\xa9\r\n");
  // l=: the hash covers only the prefix; the full canonical length is reported.
  std::uint64_t len = 0;
  auto h5 = dkim::body_hash_sha256("hello world\r\n", Canon::simple, 5, &len);
  CHECK(len == 13);
  CHECK(h5 == util::sha256("hello"));
  // Known value: sha256 of "\r\n" (the simple empty body, RFC 6376 §3.4.3).
  CHECK(util::base64_encode(dkim::body_hash_sha256("", Canon::simple, std::nullopt)) ==
        "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  CHECK(util::base64_encode(dkim::body_hash_sha256("", Canon::relaxed, std::nullopt)) ==
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST_CASE("header split and to_crlf", "[dkim][message]") {
  std::string err;
  auto m = dkim::split_message("A: 1\r\nB: 2\r\n 3\r\n\r\nbody", &err);
  REQUIRE(m);
  REQUIRE(m->headers.size() == 2);
  CHECK(m->headers[1].raw == "B: 2\r\n 3");
  CHECK(m->body == "body");
  CHECK_FALSE(dkim::split_message(" cont\r\n\r\n", &err));
  CHECK_FALSE(dkim::split_message("no colon\r\n\r\n", &err));
  CHECK(dkim::to_crlf("a\nb\r\nc\n") == "a\r\nb\r\nc\r\n");
}

TEST_CASE("tag lists", "[dkim][tags]") {
  std::string err;
  auto t = dkim::parse_tag_list(" v=1; a = rsa-sha256 ;\r\n b=ab\r\n cd ; ", &err);
  REQUIRE(t);
  REQUIRE(t->size() == 3);
  CHECK((*t)[1].value == "rsa-sha256");
  CHECK((*t)[2].value == "ab\r\n cd");
  CHECK(dkim::strip_fws((*t)[2].value) == "abcd");
  CHECK_FALSE(dkim::parse_tag_list("v=1; v=2", &err));  // duplicate
  CHECK(err.find("duplicate") != std::string::npos);
  CHECK_FALSE(dkim::parse_tag_list("1v=1", &err));
  CHECK_FALSE(dkim::parse_tag_list("v", &err));
  CHECK_FALSE(dkim::parse_tag_list("v=a;b", &err));
  CHECK(dkim::parse_tag_list("", &err)->empty());
}

TEST_CASE("RFC 8463 Appendix A signatures verify", "[dkim][rfc8463]") {
  std::string msg = dkim::to_crlf(read_file(std::string(TERN_TEST_DATA) + "/dkim/rfc8463_a3.eml"));
  std::map<std::string, checks::DnsAnswer> dns = {
      {"brisbane._domainkey.football.example.com", txt(kRfc8463Ed)},
      {"test._domainkey.football.example.com", txt(kRfc8463Rsa)}};
  auto r = verify(msg, dns);
  REQUIRE(r.size() == 2);
  CHECK(r[0].result == dkim::Result::pass);
  CHECK(r[0].algorithm == "ed25519-sha256");
  CHECK(r[0].b_prefix == "/gCrinpc");
  CHECK(r[1].result == dkim::Result::pass);
  CHECK(r[1].key_bits == 1024);

  // The RFC's secret key, signing the same message, gives signatures that verify too.
  std::string err;
  auto key = dkim::PrivateKey::from_ed25519_seed(
      *util::base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="), &err);
  REQUIRE(key);
  CHECK(key->public_p() == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  std::string unsigned_msg = msg.substr(msg.find("From:"));
  dkim::SignOptions o;
  o.domain = "football.example.com";
  o.selector = "brisbane";
  auto field = dkim::sign(unsigned_msg, *key, o, &err);
  REQUIRE(field);
  auto r2 = verify(*field + unsigned_msg, dns);
  REQUIRE(r2.size() == 1);
  CHECK(r2[0].result == dkim::Result::pass);

  // A changed body fails (body hash); a changed signed header fails (signature).
  std::string body_changed = msg;
  body_changed.replace(body_changed.find("hungry"), 6, "Hungry");
  for (auto& x : verify(body_changed, dns)) CHECK(x.result == dkim::Result::fail);
  std::string subj_changed = msg;
  subj_changed.replace(subj_changed.find("dinner"), 6, "lunch!");
  for (auto& x : verify(subj_changed, dns)) {
    CHECK(x.result == dkim::Result::fail);
    CHECK(x.reason == "signature did not verify");
  }
}

TEST_CASE("sign and verify: rsa and ed25519, every canonicalization", "[dkim][sign]") {
  std::string err;
  auto rsa = dkim::PrivateKey::generate(dkim::KeyType::rsa, 2048, &err);
  auto ed = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  REQUIRE(rsa);
  REQUIRE(ed);
  CHECK(rsa->bits() == 2048);
  // PEM round trip (the form the store keeps).
  auto rsa2 = dkim::PrivateKey::from_pem(rsa->to_pem(), &err);
  REQUIRE(rsa2);
  CHECK(rsa2->public_p() == rsa->public_p());
  std::map<std::string, checks::DnsAnswer> dns = {{"r._domainkey.example.com", txt(rsa->dns_txt())},
                                                  {"e._domainkey.example.com", txt(ed->dns_txt())}};
  for (Canon hc : {Canon::simple, Canon::relaxed}) {
    for (Canon bc : {Canon::simple, Canon::relaxed}) {
      for (const auto* k : {&*rsa2, &*ed}) {
        dkim::SignOptions o;
        o.domain = "example.com";
        o.selector = k == &*ed ? "e" : "r";
        o.header_canon = hc;
        o.body_canon = bc;
        o.timestamp = 1700000000;
        auto field = dkim::sign(kMsg, *k, o, &err);
        REQUIRE(field);
        CHECK(field->starts_with("DKIM-Signature: v=1; a="));
        CHECK(field->ends_with("\r\n"));
        for (std::size_t p = 0; (p = field->find("\r\n", p)) != std::string::npos; p += 2)
          CHECK((p + 2 == field->size() || (*field)[p + 2] == '\t'));
        auto r = verify(*field + kMsg, dns);
        REQUIRE(r.size() == 1);
        CHECK(r[0].result == dkim::Result::pass);
        CHECK(r[0].reason == "");
        // From is oversigned: a second From added on top breaks the signature.
        auto r2 = verify("From: evil@example.org\r\n" + *field + kMsg, dns);
        CHECK(r2[0].result == dkim::Result::fail);
      }
    }
  }
}

TEST_CASE("h= lists every instance and the oversigned names", "[dkim][sign]") {
  std::string err;
  auto ed = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  dkim::SignOptions o;
  o.domain = "example.com";
  o.selector = "e";
  std::string msg = "Received: x\r\nTo: a@b\r\nFrom: f@example.com\r\nTo: c@d\r\n\r\nhi\r\n";
  auto field = dkim::sign(msg, *ed, o, &err);
  REQUIRE(field);
  std::string flat;
  for (char c : *field)
    if (c != '\r' && c != '\n' && c != '\t') flat += c;
  CHECK(flat.find("h=from:to:to:from:reply-to:subject:date:to:cc;") != std::string::npos);
  CHECK(flat.find("received") == std::string::npos);
  CHECK_FALSE(dkim::sign("To: a@b\r\n\r\nx", *ed, o, &err));  // no From
  o.domain = "bad;domain";
  CHECK_FALSE(dkim::sign(msg, *ed, o, &err));
}

TEST_CASE("l= signs a body prefix; appended text still verifies", "[dkim][sign]") {
  std::string err;
  auto ed = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  std::map<std::string, checks::DnsAnswer> dns = {{"e._domainkey.example.com", txt(ed->dns_txt())}};
  dkim::SignOptions o;
  o.domain = "example.com";
  o.selector = "e";
  o.body_length = 5;
  auto field = dkim::sign(kMsg, *ed, o, &err);
  REQUIRE(field);
  CHECK(verify(*field + kMsg + "appended\r\n", dns)[0].result == dkim::Result::pass);
  o.body_length = 100000;
  field = dkim::sign(kMsg, *ed, o, &err);
  CHECK(verify(*field + kMsg, dns)[0].result == dkim::Result::fail);  // l= beyond the body
}

TEST_CASE("verifier failures map to the RFC 8601 results", "[dkim][verify]") {
  std::string err;
  auto ed = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  auto rsa = dkim::PrivateKey::generate(dkim::KeyType::rsa, 1024, &err);
  dkim::SignOptions o;
  o.domain = "example.com";
  o.selector = "e";
  o.timestamp = 1000;
  o.expiration = 2000;
  std::string signed_msg = *dkim::sign(kMsg, *ed, o, &err) + kMsg;
  using R = dkim::Result;
  auto one = [&](const std::map<std::string, checks::DnsAnswer>& dns, std::int64_t now = 1500) {
    auto r = verify(signed_msg, dns, now);
    REQUIRE(r.size() == 1);
    return r[0];
  };
  const std::string q = "e._domainkey.example.com";
  CHECK(one({{q, txt(ed->dns_txt())}}).result == R::pass);
  CHECK(one({{q, txt(ed->dns_txt())}}, 3000).result == R::permerror);  // expired
  CHECK(one({}).result == R::permerror);                                 // NXDOMAIN: no key
  CHECK(one({{q, checks::DnsAnswer{checks::DnsStatus::temperror, {}}}}).result == R::temperror);
  CHECK(one({{q, txt("v=DKIM1; k=ed25519; p=")}}).reason == "key revoked");
  CHECK(one({{q, txt(rsa->dns_txt())}}).result == R::permerror);  // k= mismatch
  CHECK(one({{q, txt("v=DKIM2; p=abc")}}).result == R::permerror);
  CHECK(one({{q, txt("v=DKIM1; k=ed25519; s=other; p=" + ed->public_p())}}).result == R::permerror);
  CHECK(one({{q, txt("v=DKIM1; k=ed25519; t=y; p=" + ed->public_p())}}).testing);
  // Another key of the right type: the signature does not verify.
  auto ed2 = dkim::PrivateKey::generate(dkim::KeyType::ed25519, 0, &err);
  CHECK(one({{q, txt(ed2->dns_txt())}}).result == R::fail);
  // No signature: an empty list (dkim=none).
  CHECK(verify(kMsg, {}).empty());
}

TEST_CASE("DKIM-Signature parsing refuses what RFC 6376/8301 call errors", "[dkim][verify]") {
  std::string err;
  const std::string base = "v=1; a=rsa-sha256; d=example.com; s=s; h=from:to; bh=" +
                           util::base64_encode(std::string(32, 'x')) + "; b=AAAA";
  CHECK(dkim::parse_signature(base, &err));
  CHECK_FALSE(dkim::parse_signature(base + "; h=x", &err));  // duplicate
  auto bad = [&](std::string from, std::string to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return !dkim::parse_signature(s, &err);
  };
  CHECK(bad("v=1", "v=2"));
  CHECK(bad("rsa-sha256", "rsa-sha1"));
  CHECK(bad("h=from:to", "h=to:subject"));
  CHECK(bad("d=example.com", "d=exa mple.com"));
  CHECK(bad("s=s;", "s=s; i=user@other.com;"));
  CHECK_FALSE(bad("s=s;", "s=s; i=user@sub.example.com;"));
  CHECK(bad("s=s;", "s=s; l=12x;"));
  CHECK(bad("s=s;", "s=s; t=100; x=50;"));
  CHECK(bad("s=s;", "s=s; c=relaxed/weird;"));
  CHECK(bad("s=s;", "s=s; q=http;"));
  auto z = dkim::parse_signature(base + "; z=From:a=20b|To:c", &err);
  REQUIRE(z);
  REQUIRE(z->copied.size() == 2);
  CHECK(z->copied[0].second == "a b");
}
