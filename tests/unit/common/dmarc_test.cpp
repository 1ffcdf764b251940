// DMARC (RFC 9989): record parsing, strict/relaxed alignment, sp=, np=, t=, psd=, the
// DNS tree walk (the names asked, the 8-label jump), and From: domain extraction.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "tern/dmarc/dmarc.hpp"

using namespace tern;
using checks::DnsAnswer;
using checks::DnsStatus;
using checks::RrType;
using dmarc::Policy;
using dmarc::Result;

namespace {

struct Zone {
  std::map<std::pair<std::string, RrType>, DnsAnswer> rr;
  std::vector<std::string> asked;  // in order
  void dmarc(const std::string& domain, const std::string& txt) {
    auto& a = rr[{"_dmarc." + domain, RrType::txt}];
    a.status = DnsStatus::ok;
    a.records.push_back({txt, 0});
  }
  dmarc::Verdict run(const dmarc::Input& in) {
    std::set<std::pair<std::string, RrType>> known;
    for (int i = 0; i < 50; ++i) {
      auto step = dmarc::evaluate(in, [&](const checks::DnsQuestion& q) -> const DnsAnswer* {
        static const DnsAnswer nx{DnsStatus::nxdomain, {}};
        if (!known.count({q.name, q.type})) return nullptr;
        auto it = rr.find({q.name, q.type});
        return it == rr.end() ? &nx : &it->second;
      });
      if (step.verdict) return *step.verdict;
      for (auto& q : step.questions) {
        asked.push_back(q.name);
        known.insert({q.name, q.type});
      }
    }
    FAIL("no verdict");
    return {};
  }
};

dmarc::Input input(std::string from, std::string spf_domain, bool spf_pass,
                   std::vector<std::pair<std::string, bool>> dkim = {}) {
  dmarc::Input in;
  in.from_domain = std::move(from);
  in.spf = {spf_pass, std::move(spf_domain)};
  for (auto& [d, p] : dkim) in.dkim.push_back({p, d});
  return in;
}

}  // namespace

TEST_CASE("DMARC record parsing", "[dmarc][record]") {
  std::string err;
  auto r = dmarc::parse_record("v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; "
                               "rua=mailto:a@example.com, mailto:b@example.com; pct=10; t=y; psd=n",
                               &err);
  REQUIRE(r);
  CHECK(r->p == Policy::reject);
  CHECK(r->sp == Policy::quarantine);
  CHECK(r->np == Policy::reject);
  CHECK(r->strict_dkim);
  CHECK_FALSE(r->strict_spf);
  CHECK(r->testing);
  CHECK(r->psd == 'n');
  REQUIRE(r->rua.size() == 2);
  CHECK(r->rua[1] == "mailto:b@example.com");
  CHECK(dmarc::parse_record("v=DMARC1", &err)->p == Policy::none);
  CHECK(dmarc::parse_record("v=DMARC1; p=bogus", &err)->p == Policy::none);
  CHECK_FALSE(dmarc::parse_record("p=reject; v=DMARC1", &err));
  CHECK_FALSE(dmarc::parse_record("v=DMARC2; p=reject", &err));
  CHECK_FALSE(dmarc::parse_record("v=spf1 -all", &err));
  CHECK_FALSE(dmarc::parse_record("v=DMARC1; p=reject; p=none", &err));
}

TEST_CASE("DMARC alignment table", "[dmarc][align]") {
  struct Case {
    const char* name;
    const char* record;  // at example.com
    const char* from;
    const char* spf_domain;
    bool spf_pass;
    const char* dkim_domain;
    bool dkim_pass;
    Result result;
    Policy disposition;
    char used;
  };
  const Case cases[] = {
      {"spf aligned (same domain)", "v=DMARC1; p=reject", "example.com", "example.com", true, "", false,
       Result::pass, Policy::none, 'p'},
      {"spf relaxed subdomain", "v=DMARC1; p=reject", "example.com", "bounce.example.com", true, "", false,
       Result::pass, Policy::none, 'p'},
      {"spf strict subdomain fails", "v=DMARC1; p=reject; aspf=s", "example.com", "bounce.example.com", true, "",
       false, Result::fail, Policy::reject, 'p'},
      {"spf pass of another domain fails", "v=DMARC1; p=quarantine", "example.com", "other.org", true, "", false,
       Result::fail, Policy::quarantine, 'p'},
      {"dkim relaxed parent", "v=DMARC1; p=reject", "mail.example.com", "other.org", true, "example.com", true,
       Result::pass, Policy::none, 's'},
      {"dkim strict parent fails, sp= applies", "v=DMARC1; p=reject; sp=quarantine; adkim=s",
       "mail.example.com", "other.org", false, "example.com", true, Result::fail, Policy::quarantine, 's'},
      {"dkim fail does not align", "v=DMARC1; p=reject", "example.com", "", false, "example.com", false,
       Result::fail, Policy::reject, 'p'},
      {"subdomain without sp= gets p=", "v=DMARC1; p=reject", "a.b.example.com", "x.org", true, "", false,
       Result::fail, Policy::reject, 'p'},
      {"np= for a non-existent subdomain", "v=DMARC1; p=none; sp=quarantine; np=reject", "nx.example.com", "",
       false, "", false, Result::fail, Policy::reject, 'n'},
      {"sp= for an existing subdomain with np=", "v=DMARC1; p=none; sp=quarantine; np=reject",
       "www.example.com", "", false, "", false, Result::fail, Policy::quarantine, 's'},
      {"t=y lowers reject to quarantine", "v=DMARC1; p=reject; t=y", "example.com", "", false, "", false,
       Result::fail, Policy::quarantine, 'p'},
      {"p=none fails with disposition none", "v=DMARC1; p=none", "example.com", "", false, "", false,
       Result::fail, Policy::none, 'p'},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Zone z;
    z.dmarc("example.com", c.record);
    z.rr[{"www.example.com", RrType::a}] = DnsAnswer{DnsStatus::ok, {{"192.0.2.1", 0}}};
    std::vector<std::pair<std::string, bool>> dk;
    if (*c.dkim_domain) dk.emplace_back(c.dkim_domain, c.dkim_pass);
    auto v = z.run(input(c.from, c.spf_domain, c.spf_pass, dk));
    CHECK(v.result == c.result);
    CHECK(v.disposition == c.disposition);
    if (c.result == Result::fail) CHECK(v.used == c.used);
    CHECK(v.policy_domain == "example.com");
    CHECK(v.org_domain == "example.com");
  }
}

TEST_CASE("DMARC tree walk", "[dmarc][walk]") {
  SECTION("no record anywhere: none, after walking to the TLD") {
    Zone z;
    auto v = z.run(input("a.b.example.com", "", false));
    CHECK(v.result == Result::none);
    CHECK(z.asked == std::vector<std::string>{"_dmarc.a.b.example.com", "_dmarc.b.example.com",
                                              "_dmarc.example.com", "_dmarc.com"});
  }
  SECTION("8 or more labels jump to the rightmost 7") {
    Zone z;
    z.dmarc("example.com", "v=DMARC1; p=reject");
    auto v = z.run(input("a.b.c.d.e.f.g.h.example.com", "", false));
    CHECK(v.result == Result::fail);
    CHECK(z.asked[0] == "_dmarc.a.b.c.d.e.f.g.h.example.com");
    CHECK(z.asked[1] == "_dmarc.d.e.f.g.h.example.com");
    CHECK(z.asked.size() <= 8 + 1);
  }
  SECTION("psd=y: the organizational domain is the name below the PSD") {
    Zone z;
    z.dmarc("example", "v=DMARC1; p=reject; psd=y");
    auto v = z.run(input("mail.shop.example", "", false, {{"shop.example", true}}));
    CHECK(v.result == Result::pass);
    CHECK(v.org_domain == "shop.example");
    CHECK(v.policy_domain == "example");
    auto v2 = z.run(input("mail.shop.example", "", false, {{"other.example", true}}));
    CHECK(v2.result == Result::fail);
    CHECK(v2.disposition == Policy::reject);
  }
  SECTION("psd=n: the record's domain is the organizational domain") {
    Zone z;
    z.dmarc("dept.example.com", "v=DMARC1; p=reject; psd=n");
    z.dmarc("example.com", "v=DMARC1; p=none");
    auto v = z.run(input("x.dept.example.com", "", false, {{"example.com", true}}));
    CHECK(v.org_domain == "dept.example.com");
    CHECK(v.result == Result::fail);
    CHECK(v.disposition == Policy::reject);
    CHECK(z.run(input("x.dept.example.com", "", false, {{"y.dept.example.com", true}})).result ==
          Result::pass);
  }
  SECTION("the record with the fewest labels is the organizational domain") {
    Zone z;
    z.dmarc("mail.example.com", "v=DMARC1; p=quarantine");
    z.dmarc("example.com", "v=DMARC1; p=reject");
    auto v = z.run(input("mail.example.com", "", false, {{"other.example.com", true}}));
    CHECK(v.policy_domain == "mail.example.com");
    CHECK(v.org_domain == "example.com");
    CHECK(v.result == Result::pass);  // relaxed: other.example.com is in the same org
  }
  SECTION("two DMARC records at one name count as none") {
    Zone z;
    z.dmarc("example.com", "v=DMARC1; p=reject");
    z.dmarc("example.com", "v=DMARC1; p=none");
    CHECK(z.run(input("example.com", "", false)).result == Result::none);
  }
  SECTION("DNS temperror") {
    Zone z;
    z.rr[{"_dmarc.example.com", RrType::txt}] = DnsAnswer{DnsStatus::temperror, {}};
    CHECK(z.run(input("example.com", "", false)).result == Result::temperror);
  }
}

TEST_CASE("RFC5322.From domain", "[dmarc][from]") {
  CHECK(dmarc::from_domain("Joe <joe@Example.COM>") == "example.com");
  CHECK(dmarc::from_domain("joe@example.com") == "example.com");
  CHECK(dmarc::from_domain("\"a@b.org, x\" <joe@example.com>") == "example.com");
  CHECK(dmarc::from_domain("joe@example.com (comment@evil.org)") == "example.com");
  CHECK(dmarc::from_domain(" Joe\r\n <joe@example.com>") == "example.com");
  CHECK_FALSE(dmarc::from_domain("a@example.com, b@example.org"));
  CHECK_FALSE(dmarc::from_domain("undisclosed"));
  CHECK_FALSE(dmarc::from_domain(""));
  CHECK_FALSE(dmarc::from_domain("<joe@>"));
  CHECK_FALSE(dmarc::from_domain("joe@exa mple..com"));
}
