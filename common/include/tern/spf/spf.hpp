#pragma once
// SPF check_host() (RFC 7208 §4) as a pure, resumable evaluator.
//
// The evaluator never does DNS. It asks `lookup(question)` for each answer it needs;
// when that returns nullptr (not known yet), evaluate() returns the questions it is
// missing instead of a verdict. The caller resolves them (asynchronously, in parallel),
// adds them to its cache and calls evaluate() again; evaluation is deterministic, so a
// re-run takes the same path up to the next missing answer. A test answers from zone
// data the same way. DNS timeouts must be answered as DnsStatus::temperror (→ the
// verdict temperror), so a check always ends.
//
// Limits (§4.6.4): 10 DNS-querying terms (include, a, mx, ptr, exists, redirect) per
// check, including nested includes → permerror; 2 void lookups (NXDOMAIN or no
// answer) → permerror; 10 MX hosts per mx → permerror; the first 10 PTR names only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/checks/dns_answer.hpp"

namespace tern::spf {

enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
std::string_view result_name(Result r);  // the RFC 8601 / RFC 7208 §8 token

struct Request {
  std::string ip;        // client address in text form
  std::string sender;    // MAIL FROM; empty = the null sender: "postmaster@<helo>"
  std::string helo;      // HELO/EHLO argument
  std::string receiver = "unknown";  // %{r}: this host's name
  std::int64_t now = 0;  // %{t}
  std::string default_explanation;  // used for fail when exp= gives none
};

struct Verdict {
  Result result = Result::none;
  std::string domain;       // the domain that was checked
  std::string mechanism;    // the mechanism that matched, "default" or empty
  std::string explanation;  // fail only: the exp= text, else default_explanation
  std::string problem;      // permerror/temperror/none: why
  unsigned dns_terms = 0, void_lookups = 0;
};

struct Limits {
  unsigned dns_terms = 10;
  unsigned void_lookups = 2;
  unsigned mx_hosts = 10;
  unsigned ptr_names = 10;
};

using Lookup = std::function<const checks::DnsAnswer*(const checks::DnsQuestion&)>;

struct Step {
  std::optional<Verdict> verdict;               // set when the check is complete
  std::vector<checks::DnsQuestion> questions;   // else: the answers still missing
};

// check_host(ip, domain of sender, sender). An empty sender (MAIL FROM:<>) checks the
// HELO identity as "postmaster@<helo>" (RFC 7208 §2.4); to check HELO explicitly (§2.3)
// pass sender = "postmaster@" + helo.
Step evaluate(const Request& req, const Lookup& lookup, const Limits& limits = {});

}  // namespace tern::spf
