#pragma once
// SPF records (RFC 7208 §4.5, §5, §6, §7): parsing and macro expansion. Pure.
//
// parse_record() checks the whole record before anything is evaluated (§4.6: a syntax
// error anywhere is a permerror), including the macro syntax of every domain-spec.
// Unknown modifiers are kept (and ignored); redirect= and exp= at most once each.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/spf/ip.hpp"

namespace tern::spf {

enum class Qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };
enum class Mech { all, include, a, mx, ptr, ip4, ip6, exists };

struct Mechanism {
  Qualifier qualifier = Qualifier::pass;
  Mech kind = Mech::all;
  std::string domain_spec;  // include/a/mx/ptr/exists (may be empty for a/mx/ptr)
  int cidr4 = 32, cidr6 = 128;  // a/mx dual-cidr-length; ip4/ip6 prefix
  IpAddress network;            // ip4/ip6
  std::string text;             // the term as written (for the A-R comment)
};

struct Record {
  std::vector<Mechanism> mechanisms;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

inline constexpr std::size_t kMaxRecordLength = 4096;  // far above the 450 of §3.4
inline constexpr std::size_t kMaxTerms = 100;

// `text` is a record already selected by is_spf_record(). nullopt with *error.
std::optional<Record> parse_record(std::string_view text, std::string* error);

// "v=spf1" alone or followed by SP (§4.5), case-insensitively.
bool is_spf_record(std::string_view txt);

// Macro context (§7.2). `validated_ptr` is asked for %{p}; it returns nullopt while
// its DNS answers are still missing (the caller then suspends the evaluation).
struct MacroContext {
  std::string sender;       // s: the full sender "local@domain"
  std::string local_part;   // l
  std::string sender_domain;  // o
  std::string domain;       // d: the current domain
  IpAddress ip;             // i, v, c
  std::string helo;         // h
  std::string receiver;     // r
  std::int64_t now = 0;     // t
  std::function<std::optional<std::string>()> validated_ptr;  // p
};

enum class ExpandStatus { ok, syntax_error, suspended };

// Expand a macro-string (§7.1). `explanation` allows c, r, t (§7.3). For a domain-spec,
// the caller truncates (§7.3: to 253 octets from the left) with truncate_domain().
ExpandStatus expand_macros(std::string_view text, const MacroContext& ctx, bool explanation,
                           std::string* out);

// Check only the syntax of a macro-string (used by parse_record).
bool valid_macro_string(std::string_view text, bool explanation);

std::string truncate_domain(std::string_view name);

}  // namespace tern::spf
