#pragma once
// DNS answer types and rdata decoding, pure (no Asio, no libunbound): the typed
// results of tern::dns::Resolver (resolver.hpp) and the functions that turn rdata
// into them. Used by the resolver, by unit tests and by the fuzz target.
//
// Status of a lookup, as SPF (RFC 7208 §5/§2.6), DKIM (RFC 6376 §6.1.2) and SMTP
// routing (RFC 5321 §5.1) need to tell them apart:
//   ok         the name exists and has records of the type (records non-empty)
//   nxdomain   the name does not exist (RCODE 3)                       -> permanent
//   no_data    the name exists but has no records of this type (NOERROR, empty)
//   temp_fail  SERVFAIL, REFUSED, timeout, DNSSEC bogus, network error -> try later
// A DNSSEC-bogus answer is always temp_fail with its data dropped (library-notes §1:
// unbound fills in the data of a bogus answer; never use it).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::dns {

enum class Status { ok, nxdomain, no_data, temp_fail };

std::string_view to_string(Status s);  // "ok" "nxdomain" "no_data" "temp_fail"

// RR types used here (RFC 1035, 3596, 6698).
enum class RrType : std::uint16_t {
  a = 1, ns = 2, cname = 5, ptr = 12, mx = 15, txt = 16, aaaa = 28, tlsa = 52
};

// What every answer carries beside its records.
struct AnswerMeta {
  Status status = Status::temp_fail;
  bool secure = false;      // DNSSEC-validated (only with a trust anchor configured)
  std::uint32_t ttl = 0;    // of the RRset; nxdomain/no_data: the negative-caching TTL (RFC 2308)
  std::string error;        // for temp_fail: "timeout", "SERVFAIL", "bogus: ...", ...
  bool ok() const { return status == Status::ok; }
};

struct MxHost {
  std::uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot; "" only for a null MX
};

// MX answer. records sorted by preference (ties keep the resolver's random order,
// which RFC 5321 §5.1 asks for). null_mx: the domain publishes RFC 7505 "0 ."
// and therefore accepts no mail; records is then empty. A "." record next to real
// ones violates RFC 7505 §3; we drop the "." and use the others.
struct MxAnswer : AnswerMeta {
  bool null_mx = false;
  std::vector<MxHost> records;
};

// A / AAAA answers as text ("192.0.2.1", "2001:db8::1"), in answer order.
struct AddressAnswer : AnswerMeta {
  std::vector<std::string> records;
};

// TXT: one string per TXT record, its character-strings concatenated with nothing
// in between (RFC 7208 §3.3, RFC 6376 §3.6.2.2). Bytes are kept as they are.
struct TxtAnswer : AnswerMeta {
  std::vector<std::string> records;
};

// PTR (and other single-name types): host names, lower case, no trailing dot.
struct NameAnswer : AnswerMeta {
  std::vector<std::string> records;
};

// Raw answer of any type: rdata as received (names inside are uncompressed) plus
// the whole wire reply, for callers that need it (e.g. libopendkim's DNS hooks).
struct RawAnswer : AnswerMeta {
  std::vector<std::string> rdata;
  std::string packet;
};

// --- rdata decoding (pure; every function rejects malformed input with nullopt) ---

// A length-prefixed uncompressed name starting at rdata[pos] -> "mx.example.test"
// ("" for the root). Advances pos. Limits: 255 octets, 63 per label.
std::optional<std::string> decode_name(std::string_view rdata, std::size_t& pos);
// A mail host name: dot-separated labels of letters, digits, '-' and '_' ("" = the
// root). MX targets with anything else (a control octet, a space, a NUL) are refused:
// the name goes on into logs, the queue's last error and DSNs.
bool mail_host_name(std::string_view name);
// nullopt also when the target is not a mail_host_name.
std::optional<MxHost> decode_mx(std::string_view rdata);
std::optional<std::string> decode_txt(std::string_view rdata);
std::optional<std::string> decode_a(std::string_view rdata);     // 4 octets
std::optional<std::string> decode_aaaa(std::string_view rdata);  // 16 octets

// "192.0.2.1" -> "1.2.0.192.in-addr.arpa", "2001:db8::1" -> nibble form under
// ip6.arpa (RFC 3596 §2.5). nullopt for something that is not an IP literal.
std::optional<std::string> reverse_name(std::string_view ip);

// Sort MX records by preference (stable) and apply the null-MX rule above. `malformed`:
// how many MX records did not decode; when none did, the answer is a temp_fail.
MxAnswer make_mx_answer(AnswerMeta meta, std::vector<MxHost> records, std::size_t malformed = 0);

}  // namespace tern::dns
