#pragma once
// Delivery of one received message: trace headers, routing to mailboxes and the
// outbound queue, archive copies, delivery events — in ONE store deliver() call — then
// auto-replies (RFC 3834) to the outbound queue. BLOCKING (store commit + fsync): the
// driver calls deliver_message() through Connection::run_blocking, and answers 250 only
// after it returns success.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "session.hpp"
#include "tern/smtp/reply.hpp"
#include "tern/store/store.hpp"

namespace tern::mta {

class Spool;

struct TlsFacts {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  int bits = 0;
};

// Everything about the message and its session that delivery needs.
struct MessageContext {
  std::string message_id;   // the transaction id (log::next_id at MAIL): logs, 250, Received
  std::string session_id;   // the connection's id, for log lines
  std::string hostname;     // our name (by-domain)
  std::string helo;         // the client's HELO/EHLO argument
  std::string peer_ip;
  std::string protocol;     // "ESMTPSA", ... (RFC 3848)
  std::optional<TlsFacts> tls;
  std::optional<AuthIdentity> identity;
  smtp::Path sender;
  smtp::MailParams params;
  std::vector<Recipient> recipients;
  std::time_t now = 0;
  // Inbound checks (mta/checks/inbound.hpp), MX listener only:
  std::string auth_results;                   // Authentication-Results field to prepend, or ""
  std::vector<std::string> junk_domains;      // RCPT domains whose local copies go to Junk
  std::optional<std::string> body_override;   // stored instead of the spool (forged A-R removed)
  // Submission (authenticated) only: the Date / Message-ID fields the message lacks
  // (smtp_server/submission_fields.hpp), added below our trace fields.
  std::string added_fields;
};

// "Wed, 25 Nov 2026 01:24:04 +0000" (RFC 5322 §3.3), UTC.
std::string rfc5322_date(std::time_t t);
// True when a HELO/EHLO argument may stand as the Received From-domain: a domain or
// an address literal (RFC 5321 §4.4, §4.1.3). Pure.
bool helo_is_valid(std::string_view helo);
// `s` as the text of an RFC 5322 comment: ( ) \ quoted, non-printables as "?", cut at
// max octets. Pure.
std::string comment_quote(std::string_view s, std::size_t max);
// The Received header (RFC 5321 §4.4 + RFC 3848), folded, ending with CRLF. An invalid
// HELO goes quoted into a comment: "from [192.0.2.1] (helo=bad\(name)".
std::string received_header(const MessageContext& m);
// "Return-Path: <sender>\r\n" (RFC 5321 §4.4; "<>" for the null sender).
std::string return_path_header(const MessageContext& m);

struct DeliveryOutcome {
  smtp::Reply reply;            // what to answer at the end of DATA / BDAT LAST
  unsigned delivered = 0;       // mailboxes written
  unsigned queued = 0;          // outbound entries
  unsigned autoreplies = 0;
  std::string detail;           // for the log line
};

// Builds the request (see the header comment), calls store.deliver() once, maps the
// result: success → 250 2.0.0; a full disk → 452 4.3.1; another temporary store error →
// 451 4.3.0; every local target
// over quota and nothing queued → 452 4.2.2. Never 250 unless the commit returned.
// `pending_events` (rejections of this session so far) are recorded in the same txn.
DeliveryOutcome deliver_message(store::Store& store, const MessageContext& m, const Spool& body,
                                std::vector<store::DeliveryEvent> pending_events);

}  // namespace tern::mta
