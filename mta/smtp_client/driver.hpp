#pragma once
// The outbound SMTP driver: one TCP connection to one address, driven by a
// ClientSession (the pure state machine), for one or more messages.
//
//   - Connect timeout 30 s; every reply read is bounded by the session's RFC 5321
//     §4.5.3.2 timeout; each write of the body by 3 min per block (4.5.3.2.5).
//   - STARTTLS: after the 220, whatever the server sent with it is discarded before
//     the handshake (the reply-injection class, CVE-2011-0411 on the client side;
//     RFC 3207 §4.2) and logged.
//   - TLS verification: ClientTls::verify checks the chain against the system CAs
//     (or ca_file) and the name (RFC 6125) given in verify_name; a failure ends
//     the connection with a temporary error (the message is deferred, not sent in
//     clear). Without verify any certificate is accepted (opportunistic TLS).
//   - Messages come from source.next() until it returns nullptr: several messages
//     per connection. A message whose transaction had started when the connection
//     failed gets the failure as its (temporary) result and is passed to done().
#include <functional>
#include <memory>
#include <string>

#include "session.hpp"
#include "tern/net/asio.hpp"

namespace tern::mta::client {

struct OutMessage {
  Envelope env;
  std::string body;      // the exact message bytes (CRLF lines), not dot-stuffed
  MessageResult result;
  bool attempted = false;  // the session produced a result for it
  std::string tls;         // TLS version it went over ("" = none), set before done()
  void* cookie = nullptr;  // the caller's
};

struct ClientTls {
  bool verify = false;
  std::string verify_name;  // host name to check (and SNI)
  std::shared_ptr<asio::ssl::context> ctx;  // client context (verify mode set by caller)
};

struct ConnectionReport {
  bool connected = false;     // TCP connected and greeted
  std::string tls;            // "TLSv1.3" or "" (none)
  smtp::Reply failure;        // why the session ended early (empty = clean QUIT)
  bool failure_permanent = false;
  std::size_t messages = 0;   // messages attempted on this connection
};

// Where a connection gets its messages: next() is awaited each time the session is
// ready (nullptr = none left: QUIT); done() is started as soon as a message has its
// results (the peer's final reply): the caller commits them. Meanwhile the connection
// may fetch the next message and send its envelope and body, but it holds back the
// body's last bytes (the final ".\r\n", or the last octet of BDAT ... LAST) until that
// done() has returned: the peer cannot accept the next message before the previous
// commit, so a crash can send again only the one message whose 250 came in and whose
// commit did not finish (one commit, not a queue of them behind a fast peer), while
// the commit overlaps the next transaction's round trips. done() calls of one
// connection never overlap, and every one has returned when run_client_connection does.
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  virtual asio::awaitable<OutMessage*> next() = 0;
  virtual asio::awaitable<void> done(OutMessage* m) = 0;
};

// Runs one connection. Never throws for network or protocol errors (they are in
// the report); the coroutine must run on a single-threaded executor (a strand).
asio::awaitable<ConnectionReport> run_client_connection(std::string ip, std::uint16_t port,
                                                        Policy policy, ClientTls tls,
                                                        MessageSource& source);

// A client TLS context: TLS 1.2+, system CA paths plus ca_file when given;
// verify = peer verification on (callers set the name per connection).
std::shared_ptr<asio::ssl::context> make_client_tls_context(bool verify, const std::string& ca_file);

// DATA framing of a body: dot-stuffing (RFC 5321 §4.5.2), a final CRLF if the body
// lacks one, and the terminating ".\r\n". Pure.
std::string dot_stuff(std::string_view body);

}  // namespace tern::mta::client
