#pragma once
// Small helpers shared by the command handlers.
#include <string>
#include <system_error>
#include <vector>

#include "session.hpp"

namespace tern::imapd {

// A mailbox name argument as the store names it ("inbox" in any case → "INBOX").
std::string mailbox_name(const imap::Arg& a);
// Tagged NO for a store error, with the RFC 5530 response code that fits.
void store_no(Session& s, const imap::Command& c, std::error_code ec, std::string_view what);
// A decimal number atom.
bool parse_u64(const imap::Arg& a, std::uint64_t& out);
// Ascending UIDs → "1:3,7" (RFC 9051 sequence-set, ranges merged).
std::string uid_set_text(std::vector<store::Uid> uids);
// Ascending UIDs → store ranges.
store::UidSet to_uid_set(std::vector<store::Uid> uids);

}  // namespace tern::imapd

namespace tern::imapd {
// STATUS data items (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE):
// parses the item list; false on an unknown item.
bool parse_status_items(const imap::Arg& list, std::vector<std::string>& items);
// "* STATUS name (MESSAGES 3 ...)" without the CRLF; false on a store error.
bool status_response(Session& s, const store::MailboxInfo& mb, const std::vector<std::string>& items,
                     std::string& out);
// The special-use attribute of a mailbox name from CREATE (USE (...)): none if unknown.
store::SpecialUse special_use_from(std::string_view attr);
}  // namespace tern::imapd
