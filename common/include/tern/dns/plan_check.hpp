#pragma once
// Checks a DNS plan (tern/checks/dns_plan.hpp) against live DNS through the shared
// asynchronous resolver: every record is looked up at once (in parallel) and marked
// present / missing / different / unknown ("could not check": the lookup failed or
// timed out, bounded by the Resolver's Options::timeout). `ternctl dns --check` and the
// web panel's DNS page both use it, so they never disagree. Never blocks: the caller
// co_awaits it from its io thread.
//
// How each type is compared:
//   TXT    records with the same leading tag ("v=spf1", "v=DKIM1", ...) are the ones that
//          count; equal modulo spacing = present, another value = different.
//   MX     present when one MX host is the planned host.
//   SRV    present when port and target match (priority and weight are the admin's).
//   CNAME  present when the target is the planned host.
//   PTR    present when one name is the planned host.
#include <string>
#include <vector>

#include "tern/checks/dns_plan.hpp"
#include "tern/dns/resolver.hpp"

namespace tern::dns {

struct PlanCheck {
  std::vector<checks::RecordCheck> records;  // one per planned record, same order
  std::vector<std::string> nameservers;      // the domain's NS (lower case, no dot)
  bool nameservers_known = false;            // false: the NS lookup failed
};

// `host`: the planned mail host (cfg.hostname), without the trailing dot.
asio::awaitable<PlanCheck> check_plan(Resolver& res, std::vector<checks::PlannedRecord> records, std::string domain,
                                      std::string host);

}  // namespace tern::dns
