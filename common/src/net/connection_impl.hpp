#pragma once
// ConnectionImpl: the one Connection type, over a TCP socket that may be upgraded
// to TLS (STARTTLS) or start in TLS (implicit-TLS listeners). Private to tern_net.
// Lives on the io_context of its socket; every member runs on that thread except
// stopping(), which reads an atomic.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tern/net/connection.hpp"
#include "tern/util/line_framer.hpp"

namespace tern::net {

class ConnectionImpl final : public Connection {
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
  bool is_tls() const override { return tls_.has_value() && tls_ok_; }
  TlsInfo tls_info() const override;
  void set_timeout(Clock::duration d) override { timeout_ = d; }
  void set_session_deadline(Clock::time_point t) override { session_deadline_ = t; }
  bool session_expired() const override { return Clock::now() >= session_deadline_; }

  asio::awaitable<LineRead> read_line(std::size_t max) override;
  asio::awaitable<ReadStatus> read_exact(std::size_t n, std::string& out) override;
  asio::awaitable<ReadStatus> read_some(std::string& out) override;
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
  // The executor of the connection's thread (post abort() there).
  asio::any_io_executor io_executor() { return sock_.get_executor(); }

 protected:
  asio::any_io_executor executor() override { return sock_.get_executor(); }
  asio::thread_pool& blocking_pool() override { return pool_; }

 private:
  // One socket read into the framer, bounded by `deadline`.
  asio::awaitable<ReadStatus> fill(Clock::time_point deadline);

  Server& server_;
  const std::atomic<bool>& stopping_;
  asio::thread_pool& pool_;
  tcp::socket sock_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;  // keeps the context alive for tls_
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  bool tls_ok_ = false;   // handshake completed
  bool broken_ = false;   // a write failed or timed out: no more I/O
  std::string id_;
  std::string listener_;
  std::string peer_ip_;
  std::uint16_t peer_port_;
  Clock::duration timeout_;
  Clock::time_point session_deadline_ = Clock::time_point::max();
  // min(now + timeout_, session_deadline_)
  Clock::time_point io_deadline() const;
  asio::steady_timer timer_;
  util::LineFramer framer_{512};
  std::string out_;
  std::string in_;  // scratch read buffer
  std::string summary_;
};

// 8 lowercase hex characters from the OpenSSL CSPRNG.
std::string make_session_id();

}  // namespace tern::net
