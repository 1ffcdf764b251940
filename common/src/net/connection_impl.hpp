#pragma once
// ConnectionImpl: the one Connection type, over a TCP socket that may be upgraded
// to TLS (STARTTLS) or start in TLS (implicit-TLS listeners). Private to tern_net.
// Lives on the io_context of its socket; every member runs on that thread except
// stopping(), which reads an atomic.
//
// Memory of an idle connection (issue 17: 10,000 TLS IDLE sessions in 200 MB): it waits
// for readiness (async_wait), not in a read with a buffer of its own, and reads into
// one buffer per io thread; TLS is OpenSSL straight on the non-blocking socket (a
// socket BIO, no asio::ssl::stream: that one holds 2 x 17 KiB of its own plus a
// 2 x 17 KiB BIO pair per connection) with SSL_MODE_RELEASE_BUFFERS, so OpenSSL takes
// its record buffers only while a record is in flight. Idle, a connection holds its
// SSL object (a few KiB), the framer (emptied buffers are freed) and small strings;
// a session that parks (park(): IMAP waiting for a command or in IDLE) holds no
// coroutine frame either, only three pending waits (socket, deadline, wake timer).
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tern/net/connection.hpp"
#include "tern/util/line_framer.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace tern::net {

class ConnectionImpl final : public Connection, public std::enable_shared_from_this<ConnectionImpl> {
 public:
  using tcp = asio::ip::tcp;
  using Clock = std::chrono::steady_clock;

  ConnectionImpl(Server& server, const std::atomic<bool>& stopping, asio::thread_pool& pool,
                 tcp::socket sock, std::string listener, std::string peer_ip,
                 std::uint16_t peer_port, Clock::duration timeout);
  ~ConnectionImpl() override;

  const std::string& id() const override { return id_; }
  const std::string& peer_ip() const override { return peer_ip_; }
  std::uint16_t peer_port() const override { return peer_port_; }
  const std::string& listener() const override { return listener_; }
  bool is_tls() const override { return ssl_ != nullptr && tls_ok_; }
  TlsInfo tls_info() const override;
  void set_timeout(Clock::duration d) override { timeout_ = d; }
  void set_session_deadline(Clock::time_point t) override { session_deadline_ = t; }
  bool session_expired() const override { return Clock::now() >= session_deadline_; }

  asio::awaitable<LineRead> read_line(std::size_t max) override;
  asio::awaitable<ReadStatus> read_exact(std::size_t n, std::string& out) override;
  asio::awaitable<ReadStatus> read_some(std::string& out) override;
  asio::awaitable<ReadStatus> read_some_or_wake(std::string& out, asio::steady_timer& wake) override;
  ParkResult park(asio::steady_timer* wake, ResumeFn resume) override;
  bool has_buffered_input() const override { return !framer_.empty(); }
  void write(std::string_view bytes) override { out_.append(bytes); }
  std::size_t queued_output() const override { return out_.size(); }
  void set_summary(std::string text) override { summary_ = std::move(text); }
  const std::string& summary() const { return summary_; }
  asio::awaitable<bool> flush() override;
  asio::awaitable<bool> start_tls() override;
  bool stopping() const override { return stopping_.load(std::memory_order_relaxed); }
  Server& server() override { return server_; }

  // Server side only.
  // TLS handshake with its own deadline (implicit TLS and STARTTLS).
  asio::awaitable<bool> handshake(Clock::duration timeout);
  // Send close_notify (bounded wait) and close the socket.
  asio::awaitable<void> close_gracefully();
  // Close the socket now: pending operations end with Error. Call on our thread.
  void abort();
  // "[::1]:5000" / "127.0.0.1:5000"
  std::string peer_text() const;
  // Server side of park(): the protocol handler returned with the connection parked;
  // the server leaves what the session holds (its admission) here with the function
  // that continues it when the park ends (called on the connection's thread with this
  // connection, the hold, the session's ResumeFn and the reason).
  using Unparked = void (*)(std::shared_ptr<ConnectionImpl>, std::shared_ptr<void>, ResumeFn, ParkWake);
  bool parked() const { return parked_; }
  // Server shutdown: ends a park now (ParkWake::wake); the session sees stopping().
  void wake_parked() {
    if (parked_) unpark(park_gen_, ParkWake::wake);
  }
  void hold(std::shared_ptr<void> h, Unparked on_unpark);
  // The executor of the connection's thread (post abort() there).
  asio::any_io_executor io_executor() { return sock_.get_executor(); }

 protected:
  asio::any_io_executor executor() override { return sock_.get_executor(); }
  asio::thread_pool& blocking_pool() override { return pool_; }

 private:
  // One non-blocking read into the framer: Ok (data buffered), Eof, Error, or Timeout
  // when nothing is there yet (`want`: what to wait for before trying again).
  ReadStatus read_now(asio::socket_base::wait_type& want);
  // The end of a park (first event of generation `gen`; later ones are ignored).
  void unpark(std::uint64_t gen, ParkWake why);
  // One socket read into the framer, bounded by `deadline`.
  asio::awaitable<ReadStatus> fill(Clock::time_point deadline);
  // Waits (no buffer held) until the socket is readable or writable; Ok, Timeout, Error.
  // With `wake`, also until it expires: then Timeout with woken_ set.
  asio::awaitable<ReadStatus> wait_ready(asio::socket_base::wait_type w, Clock::time_point deadline,
                                         asio::steady_timer* wake = nullptr);
  // SSL_do_handshake / SSL_write_ex (all of out_) / SSL_shutdown on the non-blocking
  // socket, waiting for readiness as OpenSSL asks. Ok, Timeout or Error.
  enum class TlsStep { handshake, write, shutdown };
  asio::awaitable<ReadStatus> tls_run(TlsStep step, Clock::time_point deadline);
  // Frees memory an idle connection need not hold (emptied buffers).
  void trim();
  // Before waiting for input: frees the (empty) output buffer's capacity as well.
  void release_idle();

  Server& server_;
  const std::atomic<bool>& stopping_;
  asio::thread_pool& pool_;
  tcp::socket sock_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;  // keeps the context alive for ssl_
  struct SslFree {
    void operator()(ssl_st* s) const;
  };
  std::unique_ptr<ssl_st, SslFree> ssl_;  // over sock_'s fd (BIO_NOCLOSE); null: plaintext
  bool tls_ok_ = false;   // handshake completed
  bool broken_ = false;   // a write failed or timed out: no more I/O
  std::string tls_error_;  // why the last TLS step failed (for the log)
  std::string id_;
  std::string listener_;
  std::string peer_ip_;
  std::uint16_t peer_port_;
  Clock::duration timeout_;
  Clock::time_point session_deadline_ = Clock::time_point::max();
  // min(now + timeout_, session_deadline_)
  Clock::time_point io_deadline() const;
  asio::steady_timer timer_;
  asio::steady_timer* wake_ = nullptr;  // during read_some_or_wake: fill()'s read waits end on it
  bool woken_ = false;
  // park(): while parked_, the waits of generation park_gen_ are pending (socket,
  // timer_, park_wake_); the first to end calls unpark().
  bool parked_ = false;
  std::uint64_t park_gen_ = 0;
  asio::steady_timer* park_wake_ = nullptr;
  ResumeFn resume_;
  std::shared_ptr<void> hold_;
  Unparked on_unpark_ = nullptr;
  std::optional<ParkWake> early_unpark_;  // ended before the server's hold() (not expected)
  util::LineFramer framer_{512};
  std::string out_;
  std::string summary_;
};

// 8 lowercase hex characters from the OpenSSL CSPRNG.
std::string make_session_id();

}  // namespace tern::net
