// ternctl dns DOMAIN [--check] [--json] [--ip A,B]: the records to publish (the plan is
// tern::checks::plan_dns_records, shared with the web panel). --check asks DNS through
// the shared resolver (tern/dns/plan_check.hpp, also the panel's) and marks each record
// present / missing / different (showing what is published) / could not check; a zone
// whose NS are not this host is "DNS hosted elsewhere".
#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "tern/checks/dns_plan.hpp"
#include "tern/dkim/key.hpp"
#include "tern/dns/plan_check.hpp"
#include "tern/dns/resolver.hpp"

namespace tern::ctl {
namespace {

asio::awaitable<void> check_all(dns::Resolver& res, const checks::DnsPlan& plan, std::string domain, std::string host,
                                dns::PlanCheck& out) {
  // The awaitable is made first (GCC 12: no arguments built inside a co_await, asio.hpp).
  auto job = dns::check_plan(res, plan.records, domain, host);
  out = co_await std::move(job);
  res.shutdown();
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

}  // namespace

int dns_cmd(const Args& a, const Context& ctx, store::Store& s) {
  if (a.pos.size() != 1) return fail("usage: ternctl dns DOMAIN [--check] [--json] [--ip ADDR,...]", kUsage);
  auto d = store::normalize_domain(a.pos[0]);
  if (!d) return fail("bad domain: " + a.pos[0]);
  const config::Config& cfg = ctx.config;
  auto keys = s.get_dkim_keys(*d);
  if (!keys) return fail_store(keys.error(), *d);
  std::vector<checks::DkimPem> pems;
  for (const auto& k : *keys) pems.push_back({k.selector, k.private_key_pem});
  checks::DnsPlanInput in = checks::plan_input(cfg, *d, pems);  // the panel's plan too
  if (a.has("--ip")) {
    in.addresses.clear();
    std::string v = a.opts.at("--ip");
    for (std::size_t p = 0; p <= v.size();) {
      auto c = v.find(',', p);
      std::string ip = v.substr(p, c == std::string::npos ? std::string::npos : c - p);
      if (!ip.empty()) in.addresses.push_back(ip);
      if (c == std::string::npos) break;
      p = c + 1;
    }
  }
  checks::DnsPlan plan = checks::plan_dns_records(in);

  dns::PlanCheck checked;
  checked.records.resize(plan.records.size());
  if (a.has("--check")) {
    asio::io_context io;
    try {
      dns::Resolver res(io.get_executor(), cfg.dns);
      std::exception_ptr failure;
      asio::co_spawn(io, check_all(res, plan, *d, cfg.hostname, checked),
                     [&failure](std::exception_ptr e) { failure = e; });
      io.run();
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return fail(std::string("DNS check failed: ") + e.what(), kTempFail);
    }
  }
  const std::vector<std::string>& ns = checked.nameservers;
  bool elsewhere = a.has("--check") && checked.nameservers_known &&
                   std::find(ns.begin(), ns.end(), cfg.hostname) == ns.end();
  std::string nslist;
  for (const auto& n : ns) nslist += (nslist.empty() ? "" : ", ") + n;

  if (a.has("--json")) {
    std::string o = "{\"domain\":" + json_str(*d) + ",\"hostname\":" + json_str(cfg.hostname) + ",\"records\":[";
    for (std::size_t i = 0; i < plan.records.size(); ++i) {
      const auto& r = plan.records[i];
      o += std::string(i ? "," : "") + "{\"purpose\":" + json_str(r.purpose) + ",\"name\":" + json_str(r.name) +
           ",\"type\":" + json_str(r.type) + ",\"value\":" + json_str(r.value) + ",\"note\":" + json_str(r.note) +
           ",\"zone_line\":" + json_str(r.zone_line());
      const auto& ck = checked.records[i];
      if (ck.status != checks::RecordStatus::unchecked) {
        o += ",\"status\":" + json_str(std::string(checks::to_string(ck.status))) + ",\"published\":[";
        for (std::size_t j = 0; j < ck.published.size(); ++j)
          o += std::string(j ? "," : "") + json_str(ck.published[j]);
        o += "]";
        if (!ck.error.empty()) o += ",\"error\":" + json_str(ck.error);
      }
      o += "}";
    }
    o += "],\"mta_sts_policy\":" + json_str(plan.mta_sts_policy);
    if (a.has("--check")) {
      o += ",\"nameservers\":[";
      for (std::size_t j = 0; j < ns.size(); ++j) o += std::string(j ? "," : "") + json_str(ns[j]);
      o += std::string("],\"hosted_elsewhere\":") + (elsewhere ? "true" : "false");
    }
    std::printf("%s}\n", o.c_str());
    return kOk;
  }
  std::printf("; DNS records for %s (mail host %s)\n", d->c_str(), cfg.hostname.c_str());
  if (a.has("--check") && !checked.nameservers_known)
    std::printf("; could not look up the zone's NS records\n");
  else if (a.has("--check"))
    std::printf("; %s\n", elsewhere ? ("DNS hosted elsewhere" + (nslist.empty() ? std::string() : " (" + nslist + ")") +
                                       ": add the missing records at that provider").c_str()
                                    : "the zone's NS include this host");
  std::string last;
  for (std::size_t i = 0; i < plan.records.size(); ++i) {
    const auto& r = plan.records[i];
    if (r.purpose != last) std::printf("\n; %s\n", r.purpose.c_str());
    last = r.purpose;
    if (!r.note.empty()) std::printf("; %s\n", r.note.c_str());
    const auto& ck = checked.records[i];
    if (ck.status == checks::RecordStatus::unknown) std::printf("; [could not check: %s]\n", ck.error.c_str());
    else if (ck.status != checks::RecordStatus::unchecked)
      std::printf("; [%s]\n", std::string(checks::to_string(ck.status)).c_str());
    std::printf("%s\n", r.zone_line().c_str());
    if (ck.status == checks::RecordStatus::different)
      for (const auto& p : ck.published) std::printf(";   published: %s\n", p.c_str());
  }
  std::printf("\n; MTA-STS policy (https://mta-sts.%s/.well-known/mta-sts.txt):\n", d->c_str());
  std::string pol = plan.mta_sts_policy;
  for (std::size_t p = 0; p < pol.size();) {
    auto e = pol.find('\n', p);
    std::printf(";   %s\n", pol.substr(p, e - p).c_str());
    p = e + 1;
  }
  return kOk;
}

}  // namespace tern::ctl
