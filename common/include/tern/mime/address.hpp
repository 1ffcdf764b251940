#pragma once
// RFC 5322 3.4 address lists (From, To, Cc, ...), parsed leniently for IMAP ENVELOPE
// (RFC 9051 7.5.2) and for display. Pure.
//
// Broken input is never rejected: a missing local part becomes "MISSING_MAILBOX" and a
// missing domain "MISSING_DOMAIN" (what Dovecot answers, so clients see the same thing
// from both servers); a lone word is a mailbox without a domain. Encoded words in display
// names are kept as sent (ENVELOPE carries them raw; decode.hpp decodes for display).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Address {
  // A group is written as two entries: start {group_start, name = display name of the
  // group} and end {group_end}, with the members in between (RFC 9051 7.5.2).
  enum class Kind { mailbox, group_start, group_end } kind = Kind::mailbox;
  std::optional<std::string> name;     // display name (phrase or the trailing comment)
  std::optional<std::string> route;    // obsolete source route "@a,@b" (adl), if any
  std::string mailbox;                 // local part, quotes removed ("\"a b\"@x" → "a b")
  std::string host;                    // domain ("[1.2.3.4]" for a domain literal)
};

// Parses an address-list header value (raw, folding allowed). At most max_addresses
// entries (the rest are dropped: a bound for hostile headers).
std::vector<Address> parse_address_list(std::string_view value, std::size_t max_addresses = 10000);

}  // namespace tern::mime
