#pragma once
// What IMAP SORT and THREAD (RFC 5256) need from a message, as pure functions:
// base subject extraction, the sent date, and the two threading algorithms over a
// list of (id, message-id, references, base subject, sent date).
//
//   std::vector<ThreadMessage> in;             // one per message in the search result
//   in.push_back(thread_message(msg, m.root, seq_or_uid, internal_date));
//   std::string wire = thread_references(in);  // "(1 2)(3 (4)(5))" for "* THREAD "
//
// Bounds (the 2026 Dovecot THREAD CPU blow-up class): at most ThreadLimits::max_references
// message-ids are taken from each message's References (the last ones: the parent is last),
// and the loop checks of the whole run share a step budget; once it is spent, links that
// would need a check are not made (the message then starts its own thread). No recursion
// anywhere, so a chain of any depth uses no stack. 10,000 messages each referencing all
// earlier ones thread in well under 100 ms (tests/unit/common/mime/mime_thread_test.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mime {

// RFC 5256 2.1 base subject: RFC 2047 decoded, "Re:", "Fwd:", "[list]" prefixes and
// "(fwd)" trailers removed, whitespace collapsed, then case-folded (the result is for
// comparing; i;unicode-casemap approximated by simple lower-casing). is_reply is set
// when a "re"/"fw"/"fwd" leader or "(fwd)" trailer was removed (THREAD step 5).
std::string base_subject(std::string_view raw_subject, bool* is_reply = nullptr);

// RFC 5322 3.3 date-time (obsolete forms accepted: 2-digit years, named zones, no
// seconds, no weekday) → seconds since the epoch, UTC. nullopt if unparsable.
std::optional<std::int64_t> parse_date(std::string_view raw);

// RFC 5256 "sent date": the Date header in UTC, or the internal date when it is absent
// or unparsable.
std::int64_t sent_date(std::string_view msg, const Part& root, std::int64_t internal_date);

// "<a@b> <c@d>" → {"a@b", "c@d"} (angle brackets removed; comments and junk between ids
// skipped). At most max ids, the LAST ones kept.
std::vector<std::string> parse_message_ids(std::string_view raw, std::size_t max = 1000);

struct ThreadMessage {
  std::uint32_t id = 0;                 // sequence number or UID, as the command wants
  std::string message_id;               // without <>; "" if none
  std::vector<std::string> references;  // References, or In-Reply-To if no References
  std::string base_subject;
  bool subject_is_reply = false;
  std::int64_t sent_date = 0;
};

// Extracts the fields above from a parsed message.
ThreadMessage thread_message(std::string_view msg, const Part& root, std::uint32_t id, std::int64_t internal_date);

struct ThreadLimits {
  std::size_t max_references = 100;       // per message
  std::uint64_t loop_check_budget = 2000000;  // ancestor steps per call, all messages together
};

// THREAD=REFERENCES (RFC 5256 3, steps 1-6) and THREAD=ORDEREDSUBJECT, as the wire text
// after "* THREAD " (empty for no messages). Messages are given in any order; ids must
// be unique.
std::string thread_references(const std::vector<ThreadMessage>& msgs, const ThreadLimits& limits = {});
std::string thread_orderedsubject(const std::vector<ThreadMessage>& msgs);

}  // namespace tern::mime
