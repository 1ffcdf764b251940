// The [checks] policy decision (mta/checks/inbound.hpp decide()) and the
// Authentication-Results it writes: DMARC reject/quarantine, SPF fail with and without an
// aligned DKIM pass, per-domain overrides, reject winning over junk.
#include <catch2/catch.hpp>

#include "checks/inbound.hpp"

using namespace tern;
using config::CheckAction;
using mta::Disposition;

namespace {

mta::SpfCheck spf_check(spf::Result r, std::string from = "a@sender.test") {
  mta::SpfCheck s;
  s.verdict.result = r;
  s.mailfrom = std::move(from);
  s.helo = "client.test";
  return s;
}

dmarc::Verdict dm(dmarc::Result r, dmarc::Policy disposition, bool dkim_aligned = false) {
  dmarc::Verdict v;
  v.result = r;
  v.policy = disposition;
  v.disposition = disposition;
  v.dkim_aligned = dkim_aligned;
  return v;
}

dkim::SignatureResult sig(dkim::Result r, std::string d) {
  dkim::SignatureResult s;
  s.result = r;
  s.domain = std::move(d);
  s.selector = "s1";
  s.algorithm = "rsa-sha256";
  s.b_prefix = "abcdefgh";
  return s;
}

}  // namespace

TEST_CASE("checks policy: DMARC reject and quarantine", "[mta][checks]") {
  config::ChecksConfig cfg;
  auto v = mta::decide(cfg, spf_check(spf::Result::fail), {}, dm(dmarc::Result::fail, dmarc::Policy::reject),
                       "sender.test", {"example.test"});
  CHECK(v.disposition == Disposition::reject);
  CHECK(v.rejection.code == 550);
  CHECK(v.rejection.format().find("5.7.1") != std::string::npos);
  v = mta::decide(cfg, spf_check(spf::Result::fail), {}, dm(dmarc::Result::fail, dmarc::Policy::quarantine),
                  "sender.test", {"example.test"});
  CHECK(v.disposition == Disposition::junk);
  CHECK(v.junk_domains == std::vector<std::string>{"example.test"});
  // p=none and pass: accepted.
  CHECK(mta::decide(cfg, spf_check(spf::Result::pass), {}, dm(dmarc::Result::fail, dmarc::Policy::none), "sender.test",
                    {"example.test"}).disposition == Disposition::accept);
  // Per-domain: lists.example.test takes DMARC rejects into Junk; reject wins for the rest.
  config::CheckPolicy lists;
  lists.dmarc_reject = CheckAction::junk;
  cfg.domains.emplace_back("lists.example.test", lists);
  v = mta::decide(cfg, spf_check(spf::Result::fail), {}, dm(dmarc::Result::fail, dmarc::Policy::reject), "sender.test",
                  {"lists.example.test"});
  CHECK(v.disposition == Disposition::junk);
  v = mta::decide(cfg, spf_check(spf::Result::fail), {}, dm(dmarc::Result::fail, dmarc::Policy::reject), "sender.test",
                  {"lists.example.test", "example.test"});
  CHECK(v.disposition == Disposition::reject);
}

TEST_CASE("checks policy: SPF fail without aligned DKIM", "[mta][checks]") {
  config::ChecksConfig cfg;  // default spf_fail = accept
  CHECK(mta::decide(cfg, spf_check(spf::Result::fail), {}, std::nullopt, "sender.test", {"example.test"}).disposition ==
        Disposition::accept);
  cfg.policy.spf_fail = CheckAction::junk;
  CHECK(mta::decide(cfg, spf_check(spf::Result::fail), {}, std::nullopt, "sender.test", {"example.test"}).disposition ==
        Disposition::junk);
  // An aligned DKIM pass (no DMARC record: same or related domain) saves it.
  CHECK(mta::decide(cfg, spf_check(spf::Result::fail), {sig(dkim::Result::pass, "sender.test")}, std::nullopt,
                    "sender.test", {"example.test"}).disposition == Disposition::accept);
  CHECK(mta::decide(cfg, spf_check(spf::Result::fail), {sig(dkim::Result::pass, "other.test")}, std::nullopt,
                    "sender.test", {"example.test"}).disposition == Disposition::junk);
  // With a DMARC record, its alignment decides.
  CHECK(mta::decide(cfg, spf_check(spf::Result::fail), {sig(dkim::Result::pass, "sender.test")},
                    dm(dmarc::Result::pass, dmarc::Policy::none, true), "sender.test", {"example.test"})
            .disposition == Disposition::accept);
  cfg.policy.spf_fail = CheckAction::reject;
  auto v = mta::decide(cfg, spf_check(spf::Result::fail), {}, std::nullopt, "sender.test", {"example.test"});
  CHECK(v.disposition == Disposition::reject);
  CHECK(v.rejection.format().find("SPF") != std::string::npos);
  // softfail is not fail.
  CHECK(mta::decide(cfg, spf_check(spf::Result::softfail), {}, std::nullopt, "sender.test", {"example.test"})
            .disposition == Disposition::accept);
}

TEST_CASE("Authentication-Results for the results", "[mta][checks]") {
  auto h = mta::authentication_results("mx.example.test", spf_check(spf::Result::pass),
                                       {sig(dkim::Result::pass, "sender.test")},
                                       dm(dmarc::Result::pass, dmarc::Policy::none), "sender.test", "");
  CHECK(h.starts_with("Authentication-Results: mx.example.test;\r\n\tspf=pass"));
  CHECK(h.find("smtp.mailfrom=a@sender.test") != std::string::npos);
  CHECK(h.find("dkim=pass header.d=sender.test header.s=s1 header.a=rsa-sha256 header.b=abcdefgh") !=
        std::string::npos);
  CHECK(h.find("dmarc=pass (p=none dis=none) header.from=sender.test") != std::string::npos);
  auto none = mta::authentication_results("mx.example.test", spf_check(spf::Result::none, ""), {}, std::nullopt, "",
                                          "no From field");
  CHECK(none.find("dkim=none") != std::string::npos);
  CHECK(none.find("dmarc=permerror (no From field)") != std::string::npos);
}

TEST_CASE("Authentication-Results with the HELO identity beside MAIL FROM", "[mta][checks]") {
  auto s = spf_check(spf::Result::fail);
  s.helo_verdict.emplace();
  s.helo_verdict->result = spf::Result::pass;
  s.helo_verdict->mechanism = "a";
  auto h = mta::authentication_results("mx.example.test", s, {}, std::nullopt, "sender.test", "");
  auto mf = h.find("spf=fail smtp.mailfrom=a@sender.test");
  auto he = h.find("spf=pass (matched a) smtp.helo=client.test");
  CHECK(mf != std::string::npos);
  CHECK(he != std::string::npos);
  CHECK(mf < he);  // the deciding identity first
  // The HELO result decides nothing: SPF fail of MAIL FROM still counts, a HELO fail
  // beside a MAIL FROM pass does not.
  config::ChecksConfig cfg;
  cfg.policy.spf_fail = CheckAction::reject;
  CHECK(mta::decide(cfg, s, {}, std::nullopt, "sender.test", {"example.test"}).disposition == Disposition::reject);
  auto ok = spf_check(spf::Result::pass);
  ok.helo_verdict.emplace();
  ok.helo_verdict->result = spf::Result::fail;
  CHECK(mta::decide(cfg, ok, {}, std::nullopt, "sender.test", {"example.test"}).disposition == Disposition::accept);
  // The null sender: one spf result, smtp.helo.
  auto null = spf_check(spf::Result::pass, "");
  null.helo_identity = true;
  auto hn = mta::authentication_results("mx.example.test", null, {}, std::nullopt, "", "no From field");
  CHECK(hn.find("spf=pass smtp.helo=client.test") != std::string::npos);
  CHECK(hn.find("smtp.mailfrom") == std::string::npos);
}

TEST_CASE("HELO identities SPF can check (RFC 7208 2.3)", "[mta][checks]") {
  CHECK(mta::helo_checkable("mx.example.test"));
  CHECK(mta::helo_checkable("mx.example.test."));
  CHECK(mta::helo_checkable("mail-1.example_x.org"));
  CHECK_FALSE(mta::helo_checkable("localhost"));          // single label
  CHECK_FALSE(mta::helo_checkable("[192.0.2.1]"));        // address literal
  CHECK_FALSE(mta::helo_checkable("[IPv6:2001:db8::1]"));
  CHECK_FALSE(mta::helo_checkable("192.0.2.1"));          // bare address, all-digit TLD
  CHECK_FALSE(mta::helo_checkable("a..b"));
  CHECK_FALSE(mta::helo_checkable(""));
  CHECK_FALSE(mta::helo_checkable("bad name.test"));
  CHECK_FALSE(mta::helo_checkable(std::string(64, 'a') + ".test"));
  CHECK_FALSE(mta::helo_checkable(".test"));
}
