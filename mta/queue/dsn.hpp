#pragma once
// Delivery status notifications (RFC 3464 multipart/report, RFC 3461 semantics),
// built by the queue worker for failed, delayed and (when asked) relayed/delivered
// recipients. Pure: text in, message out (CRLF lines).
//
// The report goes to the envelope sender from the null sender (RFC 3461 §6.2,
// RFC 5321 §4.5.5), so a DSN can never cause another DSN (never looping); the
// caller must not build one for a null sender.
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mta::queue {

enum class DsnAction { failed, delayed, delivered, relayed };
std::string_view to_string(DsnAction a);

struct DsnRecipient {
  std::string final_recipient;  // the address we tried
  std::string orcpt;            // the ORCPT parameter as received ("rfc822;" xtext), or ""
  DsnAction action = DsnAction::failed;
  std::string status;           // "5.1.1", "4.4.1", "2.0.0"
  std::string remote_mta;       // host name that answered, or ""
  std::string diagnostic;       // the remote reply ("550 5.1.1 no such user") or our text
};

struct DsnInput {
  std::string reporting_mta;  // our hostname
  std::string to;             // the envelope sender being notified
  std::string envid;          // ENVID, or ""
  std::string ret;            // "FULL", "HDRS" or "" (failed: FULL up to 1 MiB, else HDRS)
  std::string original;       // the original message as queued (headers + body)
  std::vector<DsnRecipient> rcpts;
  std::time_t arrival = 0;
  std::time_t now = 0;
  std::time_t retry_until = 0;  // for "delayed": Will-Retry-Until
  std::string message_id;       // for the report's own Message-ID (unique token)
};

// RET=FULL returns the whole message up to this size; a larger one only its headers.
inline constexpr std::size_t kMaxReturnedMessage = 10u << 20;

// The whole notification message. Throws nothing; empty rcpts gives "".
std::string build_dsn(const DsnInput& in);

// The original's header block (up to and excluding the empty line).
std::string_view header_block(std::string_view message);

// RFC 3463 code of a reply text: the enhanced code when given, else derived from
// the basic code class ("5.0.0" / "4.0.0" / "2.0.0").
std::string status_of(int code, std::string_view esc);

}  // namespace tern::mta::queue
