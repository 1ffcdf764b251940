// ConnectionImpl: see connection_impl.hpp and tern/net/connection.hpp.
#include "connection_impl.hpp"

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "tern/net/server.hpp"
#include "tern/net/tls.hpp"

namespace tern::net {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr auto kTlsShutdownWait = std::chrono::seconds(1);

// now + d without overflow for "no timeout" durations.
Clock::time_point deadline_after(Clock::duration d) {
  const auto now = Clock::now();
  if (d >= Clock::time_point::max() - now) return Clock::time_point::max();
  return now + d;
}

bool is_eof(const boost::system::error_code& ec) {
  // A peer closing TCP without close_notify is an ordinary end for mail
  // protocols (they have their own QUIT); RFC 8446 §6.1 leaves it to the app.
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
         ec == asio::error::connection_reset;
}

}  // namespace

std::string make_session_id() {
  unsigned char b[4];
  if (RAND_bytes(b, sizeof b) != 1) {
    // The CSPRNG failing is not worth dropping a connection over: the id only
    // correlates log lines.
    static std::atomic<unsigned> fallback{0};
    unsigned v = fallback.fetch_add(1) ^ static_cast<unsigned>(Clock::now().time_since_epoch().count());
    for (int i = 0; i < 4; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  }
  static const char* hex = "0123456789abcdef";
  std::string id(8, '0');
  for (int i = 0; i < 4; ++i) {
    id[2 * i] = hex[b[i] >> 4];
    id[2 * i + 1] = hex[b[i] & 15];
  }
  return id;
}

ConnectionImpl::ConnectionImpl(Server& server, const std::atomic<bool>& stopping,
                               asio::thread_pool& pool, tcp::socket sock, std::string listener,
                               std::string peer_ip, std::uint16_t peer_port,
                               Clock::duration timeout)
    : server_(server),
      stopping_(stopping),
      pool_(pool),
      sock_(std::move(sock)),
      id_(make_session_id()),
      listener_(std::move(listener)),
      peer_ip_(std::move(peer_ip)),
      peer_port_(peer_port),
      timeout_(timeout),
      timer_(sock_.get_executor()) {
  boost::system::error_code ec;
  // Replies are small and already batched by write()/flush(): don't let Nagle
  // delay them behind the client's delayed ACK.
  sock_.set_option(tcp::no_delay(true), ec);
}

ConnectionImpl::~ConnectionImpl() = default;

Clock::time_point ConnectionImpl::io_deadline() const {
  return std::min(deadline_after(timeout_), session_deadline_);
}

std::string ConnectionImpl::peer_text() const {
  if (peer_ip_.find(':') != std::string::npos)
    return "[" + peer_ip_ + "]:" + std::to_string(peer_port_);
  return peer_ip_ + ":" + std::to_string(peer_port_);
}

TlsInfo ConnectionImpl::tls_info() const {
  TlsInfo info;
  if (!tls_ || !tls_ok_) return info;
  SSL* ssl = const_cast<asio::ssl::stream<tcp::socket&>&>(*tls_).native_handle();
  info.version = SSL_get_version(ssl);
  if (const char* c = SSL_get_cipher_name(ssl)) info.cipher = c;
  info.bits = SSL_get_cipher_bits(ssl, nullptr);
  return info;
}

asio::awaitable<ReadStatus> ConnectionImpl::fill(Clock::time_point deadline) {
  if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
  if (!out_.empty()) {
    // About to wait for the client: queued replies must go out first, or both
    // sides wait on each other (RFC 2920 §3.2: flush when no input is pending).
    bool sent = co_await flush();
    if (!sent) co_return ReadStatus::Error;
  }
  in_.resize(kReadChunk);
  auto buf = asio::buffer(in_);
  timer_.expires_at(deadline);
  auto read = tls_ ? tls_->async_read_some(buf, asio::as_tuple(asio::use_awaitable))
                   : sock_.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
  auto r = co_await (std::move(read) || timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return ReadStatus::Timeout;
  auto [ec, n] = std::get<0>(r);
  if (n > 0) framer_.feed(std::string_view(in_.data(), n));
  if (n > 0) co_return ReadStatus::Ok;
  if (is_eof(ec)) co_return ReadStatus::Eof;
  if (ec) {
    if (ec != asio::error::operation_aborted)
      spdlog::debug("{} read error: {}", id_, ec.message());
    co_return ReadStatus::Error;
  }
  co_return ReadStatus::Ok;
}

asio::awaitable<LineRead> ConnectionImpl::read_line(std::size_t max) {
  framer_.set_max(max);
  const auto deadline = io_deadline();
  for (;;) {
    util::LineResult r = framer_.next();
    switch (r.status) {
      case util::LineStatus::Line:
        co_return LineRead{ReadStatus::Ok, std::move(r.text)};
      case util::LineStatus::TooLong:
        co_return LineRead{ReadStatus::TooLong, {}};
      case util::LineStatus::BareLf:
        co_return LineRead{ReadStatus::BareLf, std::move(r.text)};
      case util::LineStatus::BareCr:
        co_return LineRead{ReadStatus::BareCr, std::move(r.text)};
      case util::LineStatus::NeedMore:
        break;
    }
    ReadStatus st = co_await fill(deadline);
    if (st != ReadStatus::Ok) co_return LineRead{st, {}};
  }
}

asio::awaitable<ReadStatus> ConnectionImpl::read_exact(std::size_t n, std::string& out) {
  const auto deadline = io_deadline();
  while (n > 0) {
    std::string_view b = framer_.buffered();
    if (!b.empty()) {
      std::size_t k = std::min(n, b.size());
      out.append(b.substr(0, k));
      framer_.consume(k);
      n -= k;
      continue;
    }
    ReadStatus st = co_await fill(deadline);
    if (st != ReadStatus::Ok) co_return st;
  }
  co_return ReadStatus::Ok;
}

asio::awaitable<ReadStatus> ConnectionImpl::read_some(std::string& out) {
  if (framer_.empty()) {
    const auto deadline = io_deadline();
    while (framer_.empty()) {
      ReadStatus st = co_await fill(deadline);
      if (st != ReadStatus::Ok) co_return st;
    }
  }
  std::string_view b = framer_.buffered();
  out.append(b);
  framer_.consume(b.size());
  co_return ReadStatus::Ok;
}

asio::awaitable<bool> ConnectionImpl::flush() {
  if (broken_ || !sock_.is_open()) {
    out_.clear();
    co_return false;
  }
  if (out_.empty()) co_return true;
  // Not bounded by the session deadline: the 421 that ends an expired session must
  // still go out (a client that does not read is cut off by the timeout).
  timer_.expires_at(deadline_after(timeout_));
  auto buf = asio::buffer(out_);
  auto w = tls_ ? asio::async_write(*tls_, buf, asio::as_tuple(asio::use_awaitable))
                : asio::async_write(sock_, buf, asio::as_tuple(asio::use_awaitable));
  auto r = co_await (std::move(w) || timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
  out_.clear();
  if (r.index() == 1) {
    spdlog::info("{} write timeout", id_);
    broken_ = true;
    co_return false;
  }
  auto [ec, n] = std::get<0>(r);
  if (ec) {
    spdlog::debug("{} write error: {}", id_, ec.message());
    broken_ = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> ConnectionImpl::handshake(Clock::duration timeout) {
  if (tls_ || broken_ || !sock_.is_open()) co_return false;
  tls_ctx_ = server_.tls().current();
  tls_.emplace(sock_, *tls_ctx_);
  timer_.expires_at(std::min(deadline_after(timeout), session_deadline_));
  auto r = co_await (
      tls_->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable)) ||
      timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) {
    spdlog::info("{} tls handshake timeout", id_);
    broken_ = true;
    co_return false;
  }
  auto [ec] = std::get<0>(r);
  if (ec) {
    spdlog::info("{} tls handshake failed: {}", id_, ec.message());
    broken_ = true;
    co_return false;
  }
  tls_ok_ = true;
  TlsInfo info = tls_info();
  spdlog::info("{} tls version={} cipher={} bits={}", id_, info.version, info.cipher, info.bits);
  co_return true;
}

asio::awaitable<bool> ConnectionImpl::start_tls() {
  if (tls_) co_return false;
  // The "220 Ready to start TLS" reply must go out in plaintext first.
  // (No co_await inside && : GCC 12 miscompiles it — the resumed frame hits ud2.)
  if (!out_.empty()) {
    bool sent = co_await flush();
    if (!sent) co_return false;
  }
  // RFC 3207 §4.2 / RFC 2595 §4: anything the client pipelined after STARTTLS
  // (read before the handshake) was sent in plaintext and must not be trusted.
  framer_.clear();
  co_return co_await handshake(std::min<Clock::duration>(timeout_, kTlsHandshakeTimeout));
}

asio::awaitable<void> ConnectionImpl::close_gracefully() {
  if (!out_.empty()) co_await flush();
  if (tls_ && tls_ok_ && !broken_ && sock_.is_open()) {
    // Send close_notify; wait briefly for the peer's (RFC 8446 §6.1 lets us
    // close without it).
    timer_.expires_after(kTlsShutdownWait);
    co_await (tls_->async_shutdown(asio::as_tuple(asio::use_awaitable)) ||
              timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
  }
  boost::system::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

void ConnectionImpl::abort() {
  broken_ = true;
  boost::system::error_code ec;
  sock_.close(ec);  // pending reads/writes complete with operation_aborted
}

}  // namespace tern::net
