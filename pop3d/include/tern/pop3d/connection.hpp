#pragma once
// The POP3 session driver: one coroutine per client connection. It reads command
// lines, feeds them to the pure pop3::Session, and performs the actions the session
// asks for (STLS handshake, login with throttling, SASL exchange, streaming RETR/TOP,
// the UPDATE-state expunge). Spawned by net::Server through the SessionFn given in
// main.cpp: `[svc](net::Connection& c) { return serve_pop3(c, svc); }`.
#include <memory>

#include "tern/net/connection.hpp"
#include "tern/pop3d/service.hpp"

namespace tern::pop3d {

// RFC 1939 §3: "an inactivity autologout timer ... of at least 10 minutes".
inline constexpr std::chrono::seconds kIdleTimeout{600};
// Longest SASL response line accepted during AUTH (base64 of sasl Options::max_decoded
// plus slack). RFC 5034 §4 limits only the AUTH command line itself to 255 octets.
inline constexpr std::size_t kMaxSaslLine = 12 * 1024;
// RETR/TOP output is produced and sent in segments of about this size, so a large
// message is never held whole in memory.
inline constexpr std::size_t kRetrSegment = 256 * 1024;
// Replies to pipelined commands (RFC 2449 §6.6) are queued until no input is pending,
// but never more than this: past it the driver flushes, which waits for the client to
// read (backpressure). A client sending RETR × 2000 without reading costs at most this
// plus one reply.
inline constexpr std::size_t kMaxQueuedOutput = 256 * 1024;

asio::awaitable<void> serve_pop3(net::Connection& conn, std::shared_ptr<Pop3Service> svc);

}  // namespace tern::pop3d
