#pragma once
// What happens to queue entries after a delivery attempt: remove (delivered),
// reschedule with a growing interval (4xx, network), bounce (5xx, or too old), plus
// the delay / success notices RFC 3461 asks for. Pure decisions (decide_outcome)
// and the one store commit that applies them with their DSNs (commit_outcome).
#include <ctime>
#include <string>
#include <vector>

#include "queue/dsn.hpp"
#include "tern/config/config.hpp"
#include "tern/smtp/reply.hpp"
#include "tern/store/store.hpp"

namespace tern::mta::queue {

struct AttemptInfo {
  std::string host;     // "mx1.remote.test" (or "" when no connection was made)
  std::string address;  // "127.0.0.1:2525"
  std::string tls;      // "TLSv1.3" or ""
};

// One recipient's attempt.
struct RcptAttempt {
  store::QueueEntry entry;
  smtp::Reply reply;           // the peer's reply (or our own text for local failures)
  bool relayed_without_dsn = false;  // peer lacks DSN: a "relayed" notice if SUCCESS asked
};

// One DSN to send (to one envelope sender, about one message).
struct DsnJob {
  std::string to;  // envelope sender notified
  DsnInput input;  // without `original` (filled from the body by the caller)
  std::vector<store::QueueId> entries;  // the queue entries it reports on
};

struct OutcomePlan {
  std::vector<store::QueueChange> changes;
  std::vector<store::DeliveryEvent> events;
  std::vector<DsnJob> dsns;
  unsigned delivered = 0, deferred = 0, bounced = 0;
};

// Retry interval after `attempts` failed attempts: retry_min * 2^attempts, capped.
std::chrono::seconds retry_interval(const config::OutboundConfig& o, std::uint32_t attempts);

// Decide for every recipient of one message (same blob and sender).
OutcomePlan decide_outcome(const config::Config& cfg, const std::vector<RcptAttempt>& rcpts,
                           const AttemptInfo& info, std::time_t now);

// Applies the plan in ONE store commit: the DSNs (to a local sender: into its INBOX;
// SRS-decoded or remote: queued from <>), the queue changes and the events. A DSN
// whose entries were all deleted meanwhile (`ternctl queue delete` during the
// attempt) is not stored: the admin asked for that mail to go without a trace.
// `original` is the message as queued (for the DSN's third part). BLOCKING.
store::Result<void> commit_outcome(store::Store& store, const config::Config& cfg,
                                   OutcomePlan plan, const std::string& original, std::time_t now);

}  // namespace tern::mta::queue
