#include "tern/checks/dns_plan.hpp"

#include <cstdio>

#include "tern/dkim/key.hpp"
#include "tern/dns/records.hpp"
#include "tern/util/digest.hpp"

namespace tern::checks {

std::string PlannedRecord::zone_line() const {
  std::string out = name + ". IN " + type + " ";
  if (type == "TXT") {
    auto parts = dkim::txt_strings(value);
    if (parts.size() > 1) out += "( ";
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? " \"" : "\"") + parts[i] + "\"";
    if (parts.size() > 1) out += " )";
    return out;
  }
  return out + value;
}

DnsPlan plan_dns_records(const DnsPlanInput& in) {
  DnsPlan p;
  const std::string& d = in.domain;
  const std::string host = in.hostname + ".";
  const std::string report = in.report_address.empty() ? "postmaster@" + d : in.report_address;
  auto add = [&](std::string purpose, std::string name, std::string type, std::string value, std::string note = "") {
    p.records.push_back({std::move(purpose), std::move(name), std::move(type), std::move(value), std::move(note)});
  };
  add("MX", d, "MX", "10 " + host, "mail for " + d + " is received by " + in.hostname);
  std::string spf = "v=spf1 mx";
  for (const auto& a : in.addresses) spf += (a.find(':') != std::string::npos ? " ip6:" : " ip4:") + a;
  add("SPF", d, "TXT", spf + " -all", "only this host sends for " + d);
  for (const auto& k : in.dkim)
    add("DKIM", k.selector + "._domainkey." + d, "TXT", k.txt, "public key of DKIM selector " + k.selector);
  if (in.dkim.empty())
    add("DKIM", "<selector>._domainkey." + d, "TXT", "v=DKIM1; k=rsa; p=...",
        "no DKIM key yet: run ternctl dkim generate " + d);
  add("DMARC", "_dmarc." + d, "TXT", "v=DMARC1; p=quarantine; rua=mailto:" + report,
      "start with p=quarantine; aggregate reports go to " + report);
  // RFC 8461: the policy text, and a TXT whose id changes whenever the policy does (so
  // the id is a hash of the text: stable between runs, new when the MX changes).
  p.mta_sts_policy = "version: STSv1\nmode: enforce\nmx: " + in.hostname + "\nmax_age: 604800\n";
  std::string h = util::sha256(p.mta_sts_policy);
  char id[17];
  for (int i = 0; i < 8; ++i) std::snprintf(id + 2 * i, 3, "%02x", static_cast<unsigned char>(h[i]));
  add("MTA-STS", "_mta-sts." + d, "TXT", std::string("v=STSv1; id=") + id,
      "the policy is served at https://mta-sts." + d + "/.well-known/mta-sts.txt");
  add("MTA-STS", "mta-sts." + d, "CNAME", host, "HTTPS host serving the MTA-STS policy (tern-web)");
  add("TLS-RPT", "_smtp._tls." + d, "TXT", "v=TLSRPTv1; rua=mailto:" + report, "RFC 8460 TLS reports");
  struct Srv {
    const char* service;
    unsigned port;
  };
  const Srv srv[] = {{"_submission", in.submission}, {"_submissions", in.submissions}, {"_imap", in.imap},
                     {"_imaps", in.imaps},           {"_pop3", in.pop3},               {"_pop3s", in.pop3s}};
  for (const auto& s : srv) {
    // RFC 6186 §4 / RFC 8314 §5.1: prefer implicit TLS (lower priority value).
    bool tls = std::string(s.service).back() == 's' && std::string(s.service) != "_imap";
    std::string v = s.port ? std::string(tls ? "0" : "10") + " 1 " + std::to_string(s.port) + " " + host
                           : std::string("0 0 0 .");
    add("SRV", std::string(s.service) + "._tcp." + d, "SRV", v, s.port ? "" : "service not offered");
  }
  add("autoconfig", "autoconfig." + d, "CNAME", host, "Thunderbird autoconfig (tern-web)");
  add("autoconfig", "autodiscover." + d, "CNAME", host, "Outlook autodiscover (tern-web)");
  for (const auto& a : in.addresses) {
    std::string rev = dns::reverse_name(a).value_or(a);
    add("PTR", rev, "PTR", host,
        "set by whoever owns " + a + " (hosting provider); " + in.hostname + " must resolve back to " + a);
  }
  return p;
}

std::string_view to_string(RecordStatus s) {
  switch (s) {
    case RecordStatus::present: return "present";
    case RecordStatus::missing: return "missing";
    case RecordStatus::different: return "different";
    case RecordStatus::unknown: return "unknown";
    default: return "";
  }
}

DnsPlanInput plan_input(const config::Config& cfg, const std::string& domain, const std::vector<DkimPem>& keys) {
  DnsPlanInput in;
  in.domain = domain;
  in.hostname = cfg.hostname;
  for (const auto& ep : cfg.smtp.smtp.listen)  // public listen addresses only
    if (ep.host != "0.0.0.0" && ep.host != "::" && ep.host.rfind("127.", 0) != 0 && ep.host != "::1")
      in.addresses.push_back(ep.host);
  for (const auto& k : keys) {
    std::string err;
    if (auto pk = dkim::PrivateKey::from_pem(k.pem, &err)) in.dkim.push_back({k.selector, pk->dns_txt()});
  }
  // The public ports clients use (listen ports may be proxied); 0 = not offered.
  auto port = [](const config::Listener& l, unsigned standard) { return l.enabled() ? standard : 0u; };
  in.submission = port(cfg.smtp.submission, 587);
  in.submissions = port(cfg.smtp.submissions, 465);
  in.imap = port(cfg.imap.plain, 143);
  in.imaps = port(cfg.imap.implicit_tls, 993);
  in.pop3 = port(cfg.pop3.plain, 110);
  in.pop3s = port(cfg.pop3.implicit_tls, 995);
  return in;
}

}  // namespace tern::checks
