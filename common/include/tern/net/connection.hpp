#pragma once
// Connection: what a protocol session coroutine sees of its client. One Connection
// per accepted socket; it owns the socket (plain or TLS), a LineFramer and a write
// buffer, and lives on one io_context thread for its whole life.
// Protocol code (SMTP, POP3, IMAP drivers) only uses this interface.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tern/net/asio.hpp"

namespace tern::net {

class Server;

// Longest TLS handshake, implicit TLS and STARTTLS/STLS alike: a client that stalls it
// holds a session before any command timeout applies.
inline constexpr std::chrono::seconds kTlsHandshakeTimeout{30};

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
};

enum class ReadStatus {
  Ok,
  TooLong,  // line over the limit (skipped to its end; reply and go on)
  BareLf,   // line ended by LF alone (text still returned)
  BareCr,   // CR not followed by LF inside the line (text still returned)
  Eof,      // peer closed
  Timeout,  // no complete line/data within the timeout
  Error     // I/O or TLS error
};

// Parking (Connection::park): why a parked session was resumed.
enum class ParkWake {
  input,    // the socket is readable (data, EOF or an error waits there: read it)
  wake,     // the `wake` timer given to park() expired (IMAP IDLE: the mailbox changed),
            // or the server is shutting down (stopping() is true then)
  timeout,  // the read deadline (set_timeout / the session deadline) passed
  error     // the connection was aborted (server shutdown) or the wait failed
};
// What park() did.
enum class ParkResult {
  parked,  // registered: the session coroutine must return now; `resume` continues it
  input,   // not parked: input was read into the buffer (has_buffered_input())
  busy,    // not parked: output is queued or TLS wants to write; read as usual instead
  eof,     // not parked: the peer closed
  error    // not parked: I/O or TLS error
};
// Continues a parked session (a new coroutine on the connection's thread).
using ResumeFn = std::function<asio::awaitable<void>(ParkWake)>;

struct LineRead {
  ReadStatus status = ReadStatus::Error;
  std::string line;  // without CRLF
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Identity, for logs: a short unique session id, the peer, the listener name
  // ("smtp", "submission", "submissions", "pop3", "pop3s", ...).
  virtual const std::string& id() const = 0;
  virtual const std::string& peer_ip() const = 0;
  virtual std::uint16_t peer_port() const = 0;
  virtual const std::string& listener() const = 0;

  virtual bool is_tls() const = 0;
  virtual TlsInfo tls_info() const = 0;

  // Deadline for each following read_line/read_exact/read_some call as a whole
  // (a slow sender cannot stretch one line by trickling bytes) and for each
  // flush(). Default: [limits] command_timeout.
  virtual void set_timeout(std::chrono::steady_clock::duration d) = 0;
  // A deadline for the whole session: every later read ends by then (Timeout) whatever
  // set_timeout() says; flush() keeps its own timeout so the goodbye can be sent.
  // Default: none.
  virtual void set_session_deadline(std::chrono::steady_clock::time_point t) = 0;
  // True once the session deadline has passed (tells a Timeout of the whole session
  // apart from one of a single read).
  virtual bool session_expired() const = 0;

  // Reads never wait on the socket with output queued: they flush() first, so
  // a driver may call flush() only when !has_buffered_input() (pipelining) and
  // still never deadlock.
  //
  // One CRLF-terminated line of at most `max` octets (excluding CRLF).
  virtual asio::awaitable<LineRead> read_line(std::size_t max) = 0;
  // Append exactly n bytes to out (buffered input first). BDAT chunks.
  virtual asio::awaitable<ReadStatus> read_exact(std::size_t n, std::string& out) = 0;
  // Append whatever is available (at least 1 byte, buffered input first). DATA.
  virtual asio::awaitable<ReadStatus> read_some(std::string& out) = 0;
  // read_some that also ends once `wake` expires (ChangeNotifier::Subscription's timer:
  // IMAP IDLE waits for client input or a mailbox change): Ok with nothing appended
  // when woken first. One wait on the socket, the deadline and `wake` together, with no
  // coroutine per operand (an idle session's memory, issue 17).
  virtual asio::awaitable<ReadStatus> read_some_or_wake(std::string& out, asio::steady_timer& wake) = 0;
  // Parks the session instead of awaiting input (an idle session holds no coroutine
  // frame: 10,000 idle IMAP sessions, issue 17). First a read that does not wait: if
  // input is there it is buffered and `input` returned (likewise eof/error/busy, see
  // ParkResult). Otherwise `parked`: the connection waits, with no coroutine, for the
  // socket to become readable, `wake` (may be null) to expire, the read deadline
  // (set_timeout, session deadline) or an abort; the caller's coroutines must then
  // return at once without touching the connection, and the server calls `resume`
  // with the reason as a new coroutine, which continues the session (it may park
  // again). The server ends the session (close, disconnect line) only when the handler,
  // or the last resume, returns without parking.
  virtual ParkResult park(asio::steady_timer* wake, ResumeFn resume) = 0;
  // True when input is already buffered (pipelining: flush replies only when false).
  virtual bool has_buffered_input() const = 0;

  // Queue bytes for sending; flush() sends everything queued. false on error.
  virtual void write(std::string_view bytes) = 0;
  // Octets queued by write() and not yet flushed. A driver that answers pipelined
  // commands without flushing caps this (flush() waits for the client to read:
  // backpressure) so a client that sends and never reads cannot grow our memory.
  virtual std::size_t queued_output() const = 0;
  virtual asio::awaitable<bool> flush() = 0;

  // Server-side TLS handshake on this connection (STARTTLS/STLS). Discards any input
  // buffered before the upgrade (RFC 3207 §4.2). false (and the connection is
  // unusable) when the handshake fails or takes longer than kTlsHandshakeTimeout (or
  // the current timeout, when shorter), as for implicit TLS.
  virtual asio::awaitable<bool> start_tls() = 0;

  // key=value text the server appends to the session's one disconnect line (user,
  // counters, why it ended), so a session has one connect and one disconnect line.
  virtual void set_summary(std::string text) = 0;

  // True once the server is shutting down: finish the current command, say goodbye.
  virtual bool stopping() const = 0;

  virtual Server& server() = 0;

  // Run a blocking function (store commit + fsync, password hashing) on the shared
  // blocking pool and resume this coroutine on its own thread with the result.
  // Exceptions thrown by f are rethrown here.
  template <class F>
  auto run_blocking(F f) -> asio::awaitable<decltype(f())>;

 protected:
  virtual asio::any_io_executor executor() = 0;
  virtual asio::thread_pool& blocking_pool() = 0;
};

}  // namespace tern::net

#include "tern/net/impl/connection_run_blocking.hpp"
