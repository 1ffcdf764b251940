#pragma once
// Vacation auto-replies (RFC 3834). maybe_autoreply() decides and, if a reply is due,
// enqueues it to the outbound queue (null envelope sender, RFC 3834 §3.1.1). BLOCKING.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery.hpp"

namespace tern::mta {

// Header fields of a message head (up to the first empty line), unfolded
// (RFC 5322 §2.2.3); names as written. Pure.
std::vector<std::pair<std::string, std::string>> parse_header_fields(std::string_view head);

// RFC 3834 §2 / §3.1.x: why no auto-reply may be sent to this message ("" = one may).
// Null sender, Auto-Submitted other than "no", Precedence bulk/list/junk, List-* fields,
// and senders that are robots (MAILER-DAEMON, owner-*, *-request). Pure.
std::string autoreply_suppressed(std::string_view envelope_sender, std::string_view head);

// The reply message (headers + body, CRLF), pure.
std::string build_autoreply(std::string_view from, std::string_view to, std::string_view subject,
                            std::string_view body, std::string_view original_head,
                            std::string_view message_id, std::time_t now);

// If the account has an auto-responder, the message qualifies, and no reply went to
// this sender within the configured days (store.claim_autoreply), enqueue one.
// Returns true when a reply was enqueued.
bool maybe_autoreply(store::Store& store, const MessageContext& m, std::string_view head,
                     store::AccountId account, const std::string& account_address);

}  // namespace tern::mta
