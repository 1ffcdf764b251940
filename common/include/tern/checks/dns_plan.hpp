#pragma once
// The DNS records a mail domain hosted on tern should publish (pure): MX, SPF, DKIM (from
// the stored keys), DMARC, MTA-STS (TXT + the policy file), TLS-RPT, the RFC 6186/8314
// SRV records for submission/IMAP/POP3, autoconfig/autodiscover names, and PTR advice
// for each sending address. `ternctl dns` prints them; the web panel shows the same.
#include <string>
#include <string_view>
#include <vector>

#include "tern/config/config.hpp"

namespace tern::checks {

struct DnsPlanInput {
  std::string domain;                  // "example.com"
  std::string hostname;                // this host: the MX, SRV and CNAME target
  std::vector<std::string> addresses;  // this host's public IPv4/IPv6 (SPF ip4:/ip6:, PTR)
  struct Key {
    std::string selector;
    std::string txt;                   // "v=DKIM1; k=rsa; p=..."
  };
  std::vector<Key> dkim;
  std::string report_address;          // rua/TLS-RPT mailbox; empty = postmaster@domain
  // Ports; 0 = the service is not offered (SRV target "." per RFC 6186 §4).
  unsigned submission = 587, submissions = 465, imap = 143, imaps = 993, pop3 = 110, pop3s = 995;
};

struct PlannedRecord {
  std::string purpose;  // "MX", "SPF", "DKIM", "DMARC", "MTA-STS", "TLS-RPT", "SRV", "autoconfig", "PTR"
  std::string name;     // owner, no final dot
  std::string type;     // "MX", "TXT", "SRV", "CNAME", "PTR"
  std::string value;    // rdata in presentation form; TXT: the text unquoted
  std::string note;     // advice shown beside it
  std::string zone_line() const;  // ready to paste (TXT split into 255-octet strings)
};

struct DnsPlan {
  std::vector<PlannedRecord> records;
  std::string mta_sts_policy;  // served at https://mta-sts.<domain>/.well-known/mta-sts.txt
};

DnsPlan plan_dns_records(const DnsPlanInput& in);

// The input for `domain` from the config (hostname; public addresses = the [smtp] MX
// listen addresses that are neither wildcard nor loopback; the ports of the services
// configured) and the domain's DKIM keys as (selector, PEM) pairs (unreadable PEM is
// skipped). `ternctl dns` and the panel's DNS page both build their plan with it.
struct DkimPem {
  std::string selector;
  std::string pem;
};
DnsPlanInput plan_input(const config::Config& cfg, const std::string& domain, const std::vector<DkimPem>& keys);

// A planned record compared with what DNS publishes (tern/dns/plan_check.hpp asks).
enum class RecordStatus {
  unchecked,  // not looked up
  present,    // published as planned
  missing,    // nothing of the kind published (NXDOMAIN / no data)
  different,  // something else published under the name (see `published`)
  unknown,    // the lookup failed (SERVFAIL, timeout): "could not check"
};
std::string_view to_string(RecordStatus s);  // "", "present", "missing", "different", "unknown"
struct RecordCheck {
  RecordStatus status = RecordStatus::unchecked;
  std::vector<std::string> published;  // what was found (presentation form)
  std::string error;                   // unknown: the resolver's reason ("timeout", ...)
};

}  // namespace tern::checks
