#pragma once
// The DNS answers the pure SPF, DKIM and DMARC evaluators work from. They never query
// DNS themselves: the caller (tern-mta, through the shared asynchronous resolver, or a
// test, from zone data) answers each question they ask, so no evaluator can block a
// thread or hang on DNS. A DNS timeout or SERVFAIL is DnsStatus::temperror.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::checks {

enum class DnsStatus { ok, nxdomain, nodata, temperror };

enum class RrType : std::uint16_t { a = 1, ns = 2, ptr = 12, mx = 15, txt = 16, aaaa = 28 };

std::string_view rr_type_name(RrType t);  // "A", "MX", ...

struct DnsRecord {
  // A/AAAA: the address in presentation form ("192.0.2.1", "2001:db8::1");
  // MX: the exchange name; PTR/NS: the target name (names without the final dot);
  // TXT: the record's character-strings concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
  std::string text;
  std::uint16_t pref = 0;  // MX preference
};

struct DnsAnswer {
  DnsStatus status = DnsStatus::temperror;
  std::vector<DnsRecord> records;  // non-empty only with status ok
  // Seconds the answer may be reused (the resolver's TTL; for a negative answer its
  // negative-caching TTL); 0 = not at all. The evaluators ignore it.
  std::uint32_t ttl = 0;
};

struct DnsQuestion {
  std::string name;  // lower case, no final dot
  RrType type = RrType::txt;
  bool operator==(const DnsQuestion&) const = default;
};

// Lower case, final dot removed: the form DnsQuestion names and lookups use.
std::string normalize_dns_name(std::string_view name);

}  // namespace tern::checks
