#pragma once
// The HTTP/1.1 driver of tern-web: Beast's request parser fed from a tern
// net::Connection (plain or TLS, caps and timeouts from net::Server), one coroutine
// per connection, keep-alive, and the App called on the blocking pool.
// Only src/server includes Beast; this header does not.
#include <memory>

#include "tern/net/connection.hpp"
#include "tern/web/app.hpp"

namespace tern::dns {
class Resolver;
}

namespace tern::web {

struct HttpLimits {
  std::size_t header_limit = 16 * 1024;         // request line + headers (431 beyond)
  std::uint64_t body_limit = 1 << 20;           // [web] max_body (413 beyond)
  std::chrono::seconds idle{30};                // keep-alive: time to the next request
  std::chrono::seconds request{60};             // whole request, once started
  unsigned max_requests = 1000;                 // per connection, then close
};

// `resolver` (may be nullptr): the DNS page's live lookups (App::dns_job), awaited on
// this connection's io thread.
asio::awaitable<void> serve_http(net::Connection& conn, App& app, auth::Authenticator& auth, HttpLimits limits,
                                 dns::Resolver* resolver = nullptr);

}  // namespace tern::web
