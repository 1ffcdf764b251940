#pragma once
// SMTP path and mailbox syntax (RFC 5321 §4.1.2, §4.5.3.1; RFC 6531 §3.3 for UTF-8).
// Pure: no I/O, no allocation beyond the result.
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::smtp {

// Length limits of RFC 5321 §4.5.3.1.1-3 (octets).
inline constexpr std::size_t max_local_part = 64;
inline constexpr std::size_t max_domain = 255;
inline constexpr std::size_t max_path = 256;  // including "<" ">" and a source route

// A parsed reverse-path or forward-path. `local` keeps the local part as written
// (a quoted string keeps its quotes and escapes), `domain` as written (case kept).
struct Path {
  bool null = false;        // "<>" (reverse-path only)
  bool postmaster = false;  // "<Postmaster>" without domain (forward-path, §4.5.1)
  bool utf8 = false;        // contains non-ASCII octets (needs SMTPUTF8, RFC 6531)
  std::string local;
  std::string domain;
  // "local@domain", "" for the null path, "Postmaster" for <Postmaster>.
  std::string address() const;
};

enum class PathError {
  None,
  Syntax,     // not a valid path
  TooLong,    // path, local part or domain over its limit
  BadUtf8,    // non-ASCII octets that are not well-formed UTF-8
};

// Parse a path at the start of `in`, "<...>" including the brackets. A source route
// ("<@a,@b:user@c>") is accepted and dropped (RFC 5321 §4.1.1.3: MUST accept, SHOULD ignore).
// allow_null: accept "<>"; allow_postmaster: accept "<Postmaster>" (case-insensitive).
// On success `consumed` is the number of octets of `in` used.
PathError parse_path(std::string_view in, bool allow_null, bool allow_postmaster, Path& out,
                     std::size_t& consumed);

// Checks used by the parser and by other modules (pure).
bool is_dot_string(std::string_view s, bool allow_utf8);
bool is_quoted_string(std::string_view s);  // including the DQUOTEs
bool is_domain(std::string_view s, bool allow_utf8);  // sub-domain *("." sub-domain)
bool is_address_literal(std::string_view s);          // "[...]" (IPv4, IPv6:, tag:)
bool is_valid_utf8(std::string_view s);

// ASCII lower-case copy (for comparing domains and verbs).
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace tern::smtp
