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
