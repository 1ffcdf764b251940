// ternctl dns DOMAIN [--check] [--json] [--ip A,B]: the records to publish (the plan is
// tern::checks::plan_dns_records, shared with the web panel). --check asks DNS through
// the shared resolver and marks each record present / missing / different (showing
// what is published); a zone whose NS are not this host is "DNS hosted elsewhere".
#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "tern/checks/dns_plan.hpp"
#include "tern/dkim/key.hpp"
#include "tern/dns/resolver.hpp"

namespace tern::ctl {
namespace {

struct Checked {
  std::string status;                 // "present", "missing", "different", "" (not checked)
  std::vector<std::string> published;
};

std::string squash(std::string_view s) {  // compare TXT values modulo spacing
  std::string o;
  bool sp = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') { sp = true; continue; }
    if (sp && !o.empty() && o.back() != ';' && c != ';') o += ' ';
    sp = false;
    o += c;
  }
  return o;
}

std::string txt_tag(std::string_view v) { return std::string(v.substr(0, v.find_first_of("; "))); }

asio::awaitable<Checked> check_one(dns::Resolver& res, const checks::PlannedRecord& r, const std::string& host) {
  Checked c;
  if (r.type == "TXT") {
    auto a = co_await res.txt(r.name);
    if (a.status == dns::Status::temp_fail) co_return Checked{"missing", {"(DNS error: " + a.error + ")"}};
    bool same_tag = false;
    for (const auto& t : a.records) {
      if (txt_tag(t) != txt_tag(r.value)) continue;
      same_tag = true;
      c.published.push_back(t);
      if (squash(t) == squash(r.value)) c.status = "present";
    }
    if (c.status.empty()) c.status = same_tag ? "different" : "missing";
    // SPF: any published record that already names this host is fine as long as it ends.
    co_return c;
  }
  if (r.type == "MX") {
    auto a = co_await res.mx(r.name);
    for (const auto& h : a.records) {
      c.published.push_back(std::to_string(h.preference) + " " + h.host + ".");
      if (h.host == host) c.status = "present";
    }
    if (c.status.empty()) c.status = c.published.empty() ? "missing" : "different";
    co_return c;
  }
  if (r.type == "PTR") {
    std::string ip;  // the note names the address: "set by whoever owns <ip> ..."
    auto p = r.note.find("owns ");
    if (p != std::string::npos) ip = r.note.substr(p + 5, r.note.find(' ', p + 5) - p - 5);
    auto a = co_await res.ptr(ip);
    for (const auto& n : a.records) {
      c.published.push_back(n + ".");
      if (n == host) c.status = "present";
    }
    if (c.status.empty()) c.status = c.published.empty() ? "missing" : "different";
    co_return c;
  }
  // CNAME (5) and SRV (33): raw rdata.
  const bool srv = r.type == "SRV";
  auto a = co_await res.query(r.name, srv ? static_cast<dns::RrType>(33) : dns::RrType::cname);
  for (const auto& rd : a.rdata) {
    std::size_t pos = srv ? 6 : 0;
    if (rd.size() < pos) continue;
    auto n = dns::decode_name(rd, pos);
    if (!n) continue;
    std::string v;
    if (srv) {
      auto u16 = [&](int i) { return (static_cast<unsigned char>(rd[i]) << 8) | static_cast<unsigned char>(rd[i + 1]); };
      v = std::to_string(u16(0)) + " " + std::to_string(u16(2)) + " " + std::to_string(u16(4)) + " " +
          (n->empty() ? "." : *n + ".");
      // Same port and target counts as present (priority and weight are the admin's).
      std::string want_tail = r.value.substr(r.value.find(' ', r.value.find(' ') + 1) + 1);
      if (v.substr(v.find(' ', v.find(' ') + 1) + 1) == want_tail) c.status = "present";
    } else {
      v = *n + ".";
      if (*n == host) c.status = "present";
    }
    c.published.push_back(v);
  }
  if (c.status.empty()) c.status = c.published.empty() ? "missing" : "different";
  co_return c;
}

asio::awaitable<void> check_all(dns::Resolver& res, const checks::DnsPlan& plan, std::string domain, std::string host,
                                std::vector<Checked>& out, std::vector<std::string>& ns) {
  for (const auto& r : plan.records) out.push_back(co_await check_one(res, r, host));
  auto a = co_await res.query(domain, dns::RrType::ns);
  for (const auto& rd : a.rdata) {
    std::size_t pos = 0;
    if (auto n = dns::decode_name(rd, pos)) ns.push_back(*n);
  }
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

unsigned port_of(const config::Listener& l, unsigned fallback_standard) {
  if (!l.enabled()) return 0;
  return fallback_standard;  // the public port clients use (listen ports may be proxied)
}

}  // namespace

int dns_cmd(const Args& a, const Context& ctx, store::Store& s) {
  if (a.pos.size() != 1) return fail("usage: ternctl dns DOMAIN [--check] [--json] [--ip ADDR,...]", kUsage);
  auto d = store::normalize_domain(a.pos[0]);
  if (!d) return fail("bad domain: " + a.pos[0]);
  const config::Config& cfg = ctx.config;
  checks::DnsPlanInput in;
  in.domain = *d;
  in.hostname = cfg.hostname;
  if (a.has("--ip")) {
    std::string v = a.opts.at("--ip");
    for (std::size_t p = 0; p <= v.size();) {
      auto c = v.find(',', p);
      std::string ip = v.substr(p, c == std::string::npos ? std::string::npos : c - p);
      if (!ip.empty()) in.addresses.push_back(ip);
      if (c == std::string::npos) break;
      p = c + 1;
    }
  } else {
    for (const auto& ep : cfg.smtp.smtp.listen)  // public listen addresses only
      if (ep.host != "0.0.0.0" && ep.host != "::" && ep.host.rfind("127.", 0) != 0 && ep.host != "::1")
        in.addresses.push_back(ep.host);
  }
  auto keys = s.get_dkim_keys(*d);
  if (!keys) return fail_store(keys.error(), *d);
  for (const auto& k : *keys) {
    std::string err;
    if (auto pk = dkim::PrivateKey::from_pem(k.private_key_pem, &err)) in.dkim.push_back({k.selector, pk->dns_txt()});
  }
  in.submission = port_of(cfg.smtp.submission, 587);
  in.submissions = port_of(cfg.smtp.submissions, 465);
  in.imap = port_of(cfg.imap.plain, 143);
  in.imaps = port_of(cfg.imap.implicit_tls, 993);
  in.pop3 = port_of(cfg.pop3.plain, 110);
  in.pop3s = port_of(cfg.pop3.implicit_tls, 995);
  checks::DnsPlan plan = checks::plan_dns_records(in);

  std::vector<Checked> checked(plan.records.size());
  std::vector<std::string> ns;
  if (a.has("--check")) {
    checked.clear();
    asio::io_context io;
    try {
      dns::Resolver res(io.get_executor(), cfg.dns);
      std::exception_ptr failure;
      asio::co_spawn(io, check_all(res, plan, *d, cfg.hostname, checked, ns),
                     [&failure](std::exception_ptr e) { failure = e; });
      io.run();
      if (failure) std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return fail(std::string("DNS check failed: ") + e.what(), kTempFail);
    }
  }
  bool elsewhere = a.has("--check") && std::find(ns.begin(), ns.end(), cfg.hostname) == ns.end();
  std::string nslist;
  for (const auto& n : ns) nslist += (nslist.empty() ? "" : ", ") + n;

  if (a.has("--json")) {
    std::string o = "{\"domain\":" + json_str(*d) + ",\"hostname\":" + json_str(cfg.hostname) + ",\"records\":[";
    for (std::size_t i = 0; i < plan.records.size(); ++i) {
      const auto& r = plan.records[i];
      o += std::string(i ? "," : "") + "{\"purpose\":" + json_str(r.purpose) + ",\"name\":" + json_str(r.name) +
           ",\"type\":" + json_str(r.type) + ",\"value\":" + json_str(r.value) + ",\"note\":" + json_str(r.note) +
           ",\"zone_line\":" + json_str(r.zone_line());
      if (!checked[i].status.empty()) {
        o += ",\"status\":" + json_str(checked[i].status) + ",\"published\":[";
        for (std::size_t j = 0; j < checked[i].published.size(); ++j)
          o += std::string(j ? "," : "") + json_str(checked[i].published[j]);
        o += "]";
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
  if (a.has("--check"))
    std::printf("; %s\n", elsewhere ? ("DNS hosted elsewhere" + (nslist.empty() ? std::string() : " (" + nslist + ")") +
                                       ": add the missing records at that provider").c_str()
                                    : "the zone's NS include this host");
  std::string last;
  for (std::size_t i = 0; i < plan.records.size(); ++i) {
    const auto& r = plan.records[i];
    if (r.purpose != last) std::printf("\n; %s\n", r.purpose.c_str());
    last = r.purpose;
    if (!r.note.empty()) std::printf("; %s\n", r.note.c_str());
    if (!checked[i].status.empty()) std::printf("; [%s]\n", checked[i].status.c_str());
    std::printf("%s\n", r.zone_line().c_str());
    if (checked[i].status == "different")
      for (const auto& p : checked[i].published) std::printf(";   published: %s\n", p.c_str());
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
