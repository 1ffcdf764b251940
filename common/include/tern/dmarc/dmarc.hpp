#pragma once
// DMARC (RFC 9989, which obsoletes RFC 7489) as a pure, resumable evaluator, driven by
// DNS answers like tern::spf (see spf.hpp for the question/answer loop).
//
// Policy discovery and the Organizational Domain use the DNS tree walk (RFC 9989
// §4.10): _dmarc.<domain>, then upwards one label at a time, jumping first to the
// rightmost 7 labels when the name has 8 or more, so at most 8 queries per walk.
// The organizational domain is the first record with psd=n, else the name below a
// record with psd=y, else the record with the fewest labels, else the domain itself.
// No public suffix list is needed. pct=, rf=, ri= are ignored (RFC 9989 removed them);
// t=y (testing) lowers the policy one step (reject → quarantine → none).
//
// Alignment: strict = the same name; relaxed = the same organizational domain.
// Which policy: p= when the record was found at the author domain; else np= when the
// author domain does not exist (NXDOMAIN) and np= is given; else sp= if given; else p=.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/checks/dns_answer.hpp"

namespace tern::dmarc {

enum class Policy { none, quarantine, reject };
std::string_view policy_name(Policy p);

struct Record {
  Policy p = Policy::none;
  std::optional<Policy> sp, np;
  bool strict_dkim = false, strict_spf = false;  // adkim=s, aspf=s
  char psd = 'u';                                 // 'y', 'n' or 'u' (unspecified)
  bool testing = false;                           // t=y
  std::vector<std::string> rua;
};

// nullopt when the text is not a DMARC record ("v=DMARC1" must be the first tag) or its
// tag list is malformed; bad values of known tags fall back to their defaults.
std::optional<Record> parse_record(std::string_view txt, std::string* error);

enum class Result { none, pass, fail, temperror, permerror };
std::string_view result_name(Result r);

struct AuthResult {
  bool pass = false;
  std::string domain;  // SPF: the MAIL FROM domain (HELO for the null sender); DKIM: d=
};

struct Input {
  std::string from_domain;        // RFC5322.From domain (the caller extracts it)
  AuthResult spf;                 // pass only for spf=pass
  std::vector<AuthResult> dkim;   // one per signature; pass only for dkim=pass
  bool spf_temperror = false;     // informative only
};

struct Verdict {
  Result result = Result::none;
  Policy policy = Policy::none;     // the policy requested for this message (after t=y)
  Policy disposition = Policy::none;  // policy if result == fail, else none
  std::string policy_domain;        // where the record was found
  std::string org_domain;           // of the author domain
  char used = 'p';                  // 'p', 's' (sp=), 'n' (np=)
  bool spf_aligned = false, dkim_aligned = false;
  std::string dkim_domain;          // the aligned DKIM d= (header.d) if any
  std::string problem;
};

struct Step {
  std::optional<Verdict> verdict;
  std::vector<checks::DnsQuestion> questions;
};

using Lookup = std::function<const checks::DnsAnswer*(const checks::DnsQuestion&)>;

Step evaluate(const Input& in, const Lookup& lookup);

// The RFC5322.From domain of a message header value ("Name <a@b.example>", "a@b"): the
// domain of the single address; nullopt for none, several addresses or a bad address.
std::optional<std::string> from_domain(std::string_view from_value);

}  // namespace tern::dmarc
