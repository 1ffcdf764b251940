// SPF: RFC 7208 §7.4 macro examples, record syntax, the lookup limits and the
// resumable evaluation contract (questions out, answers in, same verdict).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "tern/spf/record.hpp"
#include "tern/spf/spf.hpp"

using namespace tern;
using checks::DnsAnswer;
using checks::DnsStatus;
using checks::RrType;

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

struct Zone {
  std::map<std::pair<std::string, RrType>, DnsAnswer> rr;
  int rounds = 0;
  void txt(const std::string& n, const std::string& v) { add(n, RrType::txt, v); }
  void add(const std::string& n, RrType t, const std::string& v) {
    auto& a = rr[{n, t}];
    a.status = DnsStatus::ok;
    a.records.push_back({v, 10});
  }
  spf::Verdict check(const std::string& ip, const std::string& sender) {
    spf::Request req;
    req.ip = ip;
    req.sender = sender;
    req.helo = "helo.example.org";
    for (rounds = 0; rounds < 100; ++rounds) {
      auto step = spf::evaluate(req, [&](const checks::DnsQuestion& q) -> const DnsAnswer* {
        static const DnsAnswer nx{DnsStatus::nxdomain, {}};
        auto it = rr.find({q.name, q.type});
        if (it != rr.end()) return &it->second;
        return asked.count({q.name, q.type}) ? &nx : nullptr;
      });
      if (step.verdict) return *step.verdict;
      for (auto& q : step.questions) asked.insert({q.name, q.type});
    }
    FAIL("no verdict");
    return {};
  }
  std::set<std::pair<std::string, RrType>> asked;
};

}  // namespace

TEST_CASE("RFC 7208 7.4 macro examples", "[spf][macro]") {
  spf::MacroContext c;
  c.sender = "strong-bad@email.example.com";
  c.local_part = "strong-bad";
  c.sender_domain = c.domain = "email.example.com";
  c.ip = *spf::IpAddress::parse("192.0.2.3");
  const std::pair<const char*, const char*> cases[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
      {"%%%_%-", "% %20"},
  };
  for (auto [in, want] : cases) {
    std::string out;
    INFO(in);
    REQUIRE(spf::expand_macros(in, c, false, &out) == spf::ExpandStatus::ok);
    CHECK(out == want);
  }
  c.ip = *spf::IpAddress::parse("2001:db8::cb01");
  std::string out;
  REQUIRE(spf::expand_macros("%{ir}.%{v}._spf.%{d2}", c, false, &out) == spf::ExpandStatus::ok);
  CHECK(lower(out) == "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  // Upper-case letters URL-escape; c/r/t only in explanations; bad syntax refused.
  c.local_part = "a b&c";
  REQUIRE(spf::expand_macros("%{L}", c, false, &out) == spf::ExpandStatus::ok);
  CHECK(out == "a%20b%26c");
  CHECK(spf::expand_macros("%{c}", c, false, &out) == spf::ExpandStatus::syntax_error);
  CHECK(spf::expand_macros("%{c}", c, true, &out) == spf::ExpandStatus::ok);
  for (const char* bad : {"%", "%{", "%{x}", "%{d0}", "%{d2q}", "%a", "%{}"})
    CHECK(spf::expand_macros(bad, c, false, &out) == spf::ExpandStatus::syntax_error);
}

TEST_CASE("SPF record syntax", "[spf][record]") {
  std::string err;
  auto r = spf::parse_record("v=spf1 +mx a:mail.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 "
                             "include:_spf.example.net ~all exp=explain.%{d} foo=bar",
                             &err);
  REQUIRE(r);
  REQUIRE(r->mechanisms.size() == 6);
  CHECK(r->mechanisms[1].cidr4 == 24);
  CHECK(r->mechanisms[1].cidr6 == 64);
  CHECK(r->mechanisms[3].cidr6 == 32);
  CHECK(r->mechanisms[5].qualifier == spf::Qualifier::softfail);
  CHECK(r->exp);
  for (const char* bad : {"v=spf1 a:", "v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3", "v=spf1 ip6:1.2.3.4",
                          "v=spf1 foo", "v=spf1 include:example", "v=spf1 redirect=a.com redirect=b.com",
                          "v=spf1 a/024", "v=spf1 mx:example.com/", "v=spf1 -all:x", "v=spf1 exp="})
    CHECK_FALSE(spf::parse_record(bad, &err));
  CHECK(spf::is_spf_record("v=spf1"));
  CHECK(spf::is_spf_record("V=SPF1 -all"));
  CHECK_FALSE(spf::is_spf_record("v=spf10 -all"));
}

TEST_CASE("SPF limits: 10 DNS terms, 2 void lookups, temperror ends the check", "[spf][limits]") {
  Zone z;
  // A chain of 11 includes.
  for (int i = 0; i < 11; ++i)
    z.txt("l" + std::to_string(i) + ".example.com", "v=spf1 include:l" + std::to_string(i + 1) + ".example.com");
  z.txt("l11.example.com", "v=spf1 +all");
  auto v = z.check("192.0.2.1", "a@l0.example.com");
  CHECK(v.result == spf::Result::permerror);
  CHECK(v.problem == "more than 10 DNS lookups");
  // Ten are fine.
  z.txt("m0.example.com", "v=spf1 include:l2.example.com");
  CHECK(z.check("192.0.2.1", "a@m0.example.com").result == spf::Result::pass);
  // A loop ends at the limit.
  z.txt("loop.example.com", "v=spf1 include:loop.example.com");
  CHECK(z.check("192.0.2.1", "a@loop.example.com").result == spf::Result::permerror);
  // Three void lookups.
  z.txt("void.example.com", "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all");
  v = z.check("192.0.2.1", "a@void.example.com");
  CHECK(v.result == spf::Result::permerror);
  CHECK(v.void_lookups == 3);
  z.txt("void2.example.com", "v=spf1 a:n1.example.com a:n2.example.com -all");
  CHECK(z.check("192.0.2.1", "a@void2.example.com").result == spf::Result::fail);
  // A timeout is temperror.
  z.txt("slow.example.com", "v=spf1 a:t.example.com -all");
  z.rr[{"t.example.com", RrType::a}] = DnsAnswer{DnsStatus::temperror, {}};
  CHECK(z.check("192.0.2.1", "a@slow.example.com").result == spf::Result::temperror);
  // mx: all host lookups are asked in one round.
  z.txt("mx.example.com", "v=spf1 mx -all");
  for (int i = 0; i < 5; ++i) z.add("mx.example.com", RrType::mx, "h" + std::to_string(i) + ".example.com");
  z.add("h4.example.com", RrType::a, "192.0.2.9");
  CHECK(z.check("192.0.2.9", "a@mx.example.com").result == spf::Result::pass);
  CHECK(z.rounds <= 3);
  // Null sender: the HELO identity is checked.
  z.txt("helo.example.org", "v=spf1 ip4:192.0.2.7 -all");
  v = z.check("192.0.2.7", "");
  CHECK(v.result == spf::Result::pass);
  CHECK(v.domain == "helo.example.org");
}
