#pragma once
// The SMTP connection driver: a coroutine over tern::net::Connection that feeds an
// SmtpSession and performs its Actions (store checks, STARTTLS, AUTH, DATA/BDAT into a
// Spool, delivery). PIPELINING (RFC 2920): replies are flushed only when no more input
// is buffered, and always before waiting on something slow (TLS, data, delivery).
#include <string>
#include <string_view>
#include <vector>

#include "session.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/net/connection.hpp"
#include "tern/store/store.hpp"

namespace tern::dns {
class Resolver;
}

namespace tern::mta {

class EventRecorder;  // event_recorder.hpp
struct CheckCaches;   // checks/inbound.hpp

// Shared by every session of the daemon; outlives the Server.
struct MtaContext {
  const config::Config& cfg;
  store::Store& store;
  auth::Authenticator& auth;
  // Threads for deliver() calls (nullptr = the server's blocking pool). A delivery
  // mostly waits for the group commit's fsync, so many may wait at once: more threads
  // than cores let concurrent sessions share one commit (design §2 group commit).
  asio::thread_pool* delivery_pool = nullptr;
  // The daemon's DNS resolver (SPF/DKIM/DMARC on the MX listener); nullptr = no checks.
  dns::Resolver* resolver = nullptr;
  // DNS answers and DKIM keys the checks keep between messages; nullptr = none kept.
  CheckCaches* check_caches = nullptr;
  // Where refusal events go (batched, capped per client IP); nullptr = not recorded.
  EventRecorder* events = nullptr;
};

struct ListenerSetup {
  ListenerKind kind = ListenerKind::Mx;
  bool auth_enabled = false;
  bool auth_required = false;
};

// One SMTP session, from greeting to close. Owns its arguments' copies except ctx.
asio::awaitable<void> serve_smtp(net::Connection& conn, MtaContext& ctx, ListenerSetup setup);

// True when `ip` (v4 or v6 literal) lies in one of the CIDRs ("10.0.0.0/8", "::1/128",
// a bare address = a host). Malformed entries never match. Pure.
bool ip_in_networks(std::string_view ip, const std::vector<std::string>& cidrs);

}  // namespace tern::mta
