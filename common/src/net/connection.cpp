// ConnectionImpl: see connection_impl.hpp and tern/net/connection.hpp.
#include "connection_impl.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tern/net/server.hpp"
#include "tern/net/tls.hpp"

namespace tern::net {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;  // one TLS record's plaintext
// Output capacity an idle connection may keep after a flush.
constexpr std::size_t kKeepOutput = 16 * 1024;
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
  // Reads are readiness waits followed by a non-blocking read (see fill()).
  sock_.non_blocking(true, ec);
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

void ConnectionImpl::SslFree::operator()(ssl_st* s) const { SSL_free(s); }

TlsInfo ConnectionImpl::tls_info() const {
  TlsInfo info;
  if (!ssl_ || !tls_ok_) return info;
  SSL* ssl = ssl_.get();
  info.version = SSL_get_version(ssl);
  if (const char* c = SSL_get_cipher_name(ssl)) info.cipher = c;
  info.bits = SSL_get_cipher_bits(ssl, nullptr);
  return info;
}

void ConnectionImpl::trim() {
  framer_.shrink();
  // A big reply (FETCH of a large body) leaves a big capacity behind: a busy
  // connection keeps at most kKeepOutput of it between reads.
  if (out_.empty() && out_.capacity() > kKeepOutput) std::string().swap(out_);
}

void ConnectionImpl::release_idle() {
  // About to wait for the client with nothing queued: an idle connection keeps no
  // output buffer at all (the greeting, CAPABILITY and SELECT replies left ~0.7 KiB
  // of capacity; issue 17). Busy pipelining clients never get here between commands.
  if (out_.empty() && out_.capacity() > std::string().capacity()) std::string().swap(out_);
}

asio::awaitable<ReadStatus> ConnectionImpl::wait_ready(asio::socket_base::wait_type w,
                                                       Clock::time_point deadline,
                                                       asio::steady_timer* wake) {
  timer_.expires_at(deadline);
  if (wake) {
    auto group3 = asio::experimental::make_parallel_group(
        sock_.async_wait(w, asio::deferred), timer_.async_wait(asio::deferred), wake->async_wait(asio::deferred));
    auto [order3, ec3, timer_ec3, wake_ec3] =
        co_await group3.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    (void)timer_ec3;
    (void)wake_ec3;
    if (order3[0] == 2) {
      woken_ = true;
      co_return ReadStatus::Timeout;
    }
    if (order3[0] == 1) co_return ReadStatus::Timeout;
    if (ec3) {
      if (ec3 != asio::error::operation_aborted) spdlog::debug("{} wait error: {}", id_, ec3.message());
      co_return ReadStatus::Error;
    }
    if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
    co_return ReadStatus::Ok;
  }
  // A parallel group of the two deferred operations, not `a || b` of awaitables: that
  // one co_spawns a coroutine per operand, and this wait is where every idle connection
  // sits (issue 17: about 1.5 KiB of frames per connection less; bench/RESULTS.md).
  auto group = asio::experimental::make_parallel_group(sock_.async_wait(w, asio::deferred),
                                                       timer_.async_wait(asio::deferred));
  auto [order, ec, timer_ec] =
      co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (order[0] == 1) co_return ReadStatus::Timeout;
  if (ec) {
    if (ec != asio::error::operation_aborted) spdlog::debug("{} wait error: {}", id_, ec.message());
    co_return ReadStatus::Error;
  }
  if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
  co_return ReadStatus::Ok;
}

asio::awaitable<ReadStatus> ConnectionImpl::fill(Clock::time_point deadline) {
  if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
  if (!out_.empty()) {
    // About to wait for the client: queued replies must go out first, or both
    // sides wait on each other (RFC 2920 §3.2: flush when no input is pending).
    bool sent = co_await flush();
    if (!sent) co_return ReadStatus::Error;
  }
  trim();
  for (;;) {
    if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
    auto want = asio::socket_base::wait_read;
    ReadStatus r = read_now(want);
    if (r != ReadStatus::Timeout) co_return r;
    // Nothing there: wait for readiness with no buffer held (cancellation-safe: no
    // byte is taken from the socket until the wait completes).
    release_idle();
    asio::steady_timer* wake = want == asio::socket_base::wait_read ? wake_ : nullptr;
    ReadStatus st = co_await wait_ready(want, deadline, wake);
    if (st != ReadStatus::Ok) co_return st;
  }
}

ReadStatus ConnectionImpl::read_now(asio::socket_base::wait_type& want) {
  // One read buffer per io thread: it is used only between a readiness wakeup and
  // framer_.feed(), with no suspension in between.
  static thread_local char buf[kReadChunk];
  want = asio::socket_base::wait_read;
  if (ssl_) {
    std::size_t n = 0;
    ERR_clear_error();
    int rc = SSL_read_ex(ssl_.get(), buf, sizeof buf, &n);
    if (rc == 1 && n > 0) {
      framer_.feed(std::string_view(buf, n));
      return ReadStatus::Ok;
    }
    int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_WANT_WRITE) {
      want = asio::socket_base::wait_write;
      return ReadStatus::Timeout;
    }
    if (e == SSL_ERROR_WANT_READ) return ReadStatus::Timeout;
    if (e == SSL_ERROR_ZERO_RETURN) return ReadStatus::Eof;  // close_notify (or EOF: SSL_OP_IGNORE_UNEXPECTED_EOF)
    // A peer closing TCP without close_notify (RST) is an ordinary end for mail
    // protocols; RFC 8446 §6.1 leaves it to the application.
    int err = errno;
    broken_ = true;
    if (e == SSL_ERROR_SYSCALL && (err == 0 || err == ECONNRESET || err == EPIPE)) return ReadStatus::Eof;
    spdlog::debug("{} tls read error: {}", id_, ERR_reason_error_string(ERR_peek_last_error())
                                                     ? ERR_reason_error_string(ERR_peek_last_error())
                                                     : "syscall");
    return ReadStatus::Error;
  }
  boost::system::error_code ec;
  std::size_t n = sock_.read_some(asio::buffer(buf, sizeof buf), ec);
  if (n > 0) {
    framer_.feed(std::string_view(buf, n));
    return ReadStatus::Ok;
  }
  if (is_eof(ec)) return ReadStatus::Eof;
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    spdlog::debug("{} read error: {}", id_, ec.message());
    return ReadStatus::Error;
  }
  return ReadStatus::Timeout;
}

ParkResult ConnectionImpl::park(asio::steady_timer* wake, ResumeFn resume) {
  if (parked_) throw std::logic_error("Connection::park while parked");
  if (broken_ || !sock_.is_open()) return ParkResult::error;
  if (!framer_.empty()) return ParkResult::input;
  if (!out_.empty()) return ParkResult::busy;
  trim();
  auto want = asio::socket_base::wait_read;
  switch (read_now(want)) {
    case ReadStatus::Ok: return ParkResult::input;
    case ReadStatus::Eof: return ParkResult::eof;
    case ReadStatus::Timeout: break;
    default: return ParkResult::error;
  }
  if (want != asio::socket_base::wait_read) return ParkResult::busy;  // TLS wants to write first
  release_idle();
  const std::uint64_t gen = ++park_gen_;
  parked_ = true;
  resume_ = std::move(resume);
  park_wake_ = wake;
  // Three pending waits, each holding the connection (a few dozen bytes of handler),
  // and no coroutine frame: this is all an idle session costs besides its objects.
  auto self = shared_from_this();
  sock_.async_wait(asio::socket_base::wait_read, [self, gen](const boost::system::error_code& ec) {
    self->unpark(gen, ec ? ParkWake::error : ParkWake::input);
  });
  timer_.expires_at(io_deadline());
  timer_.async_wait([self, gen](const boost::system::error_code& ec) {
    if (!ec) self->unpark(gen, ParkWake::timeout);
  });
  if (wake) {
    // The notifier ends a subscription's wait by expiring its timer (operation_aborted
    // for a pending wait): any end is a wake.
    wake->async_wait([self, gen](const boost::system::error_code&) { self->unpark(gen, ParkWake::wake); });
  }
  return ParkResult::parked;
}

void ConnectionImpl::unpark(std::uint64_t gen, ParkWake why) {
  if (!parked_ || gen != park_gen_) return;  // a wait of an earlier park, cancelled
  parked_ = false;
  ++park_gen_;
  boost::system::error_code ec;
  timer_.cancel();
  sock_.cancel(ec);
  if (park_wake_) park_wake_->cancel();
  park_wake_ = nullptr;
  if (!on_unpark_) {
    early_unpark_ = why;  // hold() resumes it
    return;
  }
  Unparked cb = std::exchange(on_unpark_, nullptr);
  cb(shared_from_this(), std::move(hold_), std::move(resume_), why);
}

void ConnectionImpl::hold(std::shared_ptr<void> h, Unparked on_unpark) {
  if (early_unpark_) {
    ParkWake why = *early_unpark_;
    early_unpark_.reset();
    auto self = shared_from_this();
    ResumeFn fn = std::move(resume_);
    asio::post(sock_.get_executor(), [self, h = std::move(h), on_unpark, fn = std::move(fn), why]() mutable {
      on_unpark(self, std::move(h), std::move(fn), why);
    });
    return;
  }
  hold_ = std::move(h);
  on_unpark_ = on_unpark;
}

asio::awaitable<ReadStatus> ConnectionImpl::tls_run(TlsStep step, Clock::time_point deadline) {
  std::size_t sent = 0;
  for (;;) {
    if (broken_ || !sock_.is_open()) co_return ReadStatus::Error;
    ERR_clear_error();
    int rc = 0;
    std::size_t n = 0;
    switch (step) {
      case TlsStep::handshake: rc = SSL_do_handshake(ssl_.get()); break;
      case TlsStep::write:
        if (sent == out_.size()) co_return ReadStatus::Ok;
        rc = SSL_write_ex(ssl_.get(), out_.data() + sent, out_.size() - sent, &n);
        if (rc == 1) {
          sent += n;
          continue;
        }
        break;
      case TlsStep::shutdown:
        rc = SSL_shutdown(ssl_.get());
        // 0: our close_notify is sent; we do not wait for the peer's (RFC 8446 §6.1).
        if (rc >= 0) co_return ReadStatus::Ok;
        break;
    }
    if (rc == 1) co_return ReadStatus::Ok;
    int e = SSL_get_error(ssl_.get(), rc);
    asio::socket_base::wait_type want;
    if (e == SSL_ERROR_WANT_READ) {
      want = asio::socket_base::wait_read;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      want = asio::socket_base::wait_write;
    } else {
      int err = errno;
      broken_ = true;
      unsigned long code = ERR_peek_last_error();
      const char* why = code ? ERR_reason_error_string(code) : nullptr;
      spdlog::debug("{} tls error: {}", id_, why ? why : (err ? std::strerror(err) : "eof"));
      tls_error_ = why ? why : (err ? std::strerror(err) : "connection closed");
      co_return ReadStatus::Error;
    }
    ReadStatus st = co_await wait_ready(want, deadline);
    if (st != ReadStatus::Ok) co_return st;
  }
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

asio::awaitable<ReadStatus> ConnectionImpl::read_some_or_wake(std::string& out, asio::steady_timer& wake) {
  if (framer_.empty()) {
    const auto deadline = io_deadline();
    wake_ = &wake;
    woken_ = false;
    ReadStatus st = ReadStatus::Ok;
    while (framer_.empty() && !woken_) {
      st = co_await fill(deadline);
      if (st != ReadStatus::Ok) break;
    }
    wake_ = nullptr;
    if (framer_.empty()) {
      if (woken_) co_return ReadStatus::Ok;  // woken, nothing read
      co_return st;
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
  const auto deadline = deadline_after(timeout_);
  ReadStatus st = ReadStatus::Ok;
  if (ssl_) {
    st = co_await tls_run(TlsStep::write, deadline);
  } else {
    timer_.expires_at(deadline);
    auto buf = asio::buffer(out_);
    auto r = co_await (asio::async_write(sock_, buf, asio::as_tuple(asio::use_awaitable)) ||
                       timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 1) {
      st = ReadStatus::Timeout;
    } else if (auto [ec, n] = std::get<0>(r); ec) {
      spdlog::debug("{} write error: {}", id_, ec.message());
      st = ReadStatus::Error;
    }
  }
  out_.clear();
  if (st == ReadStatus::Timeout) spdlog::info("{} write timeout", id_);
  if (st != ReadStatus::Ok) {
    broken_ = true;
    co_return false;
  }
  if (out_.capacity() > kKeepOutput) std::string().swap(out_);
  co_return true;
}

asio::awaitable<bool> ConnectionImpl::handshake(Clock::duration timeout) {
  if (ssl_ || broken_ || !sock_.is_open()) co_return false;
  tls_ctx_ = server_.tls().current();
  SSL* ssl = SSL_new(tls_ctx_->native_handle());
  if (!ssl) {
    spdlog::error("{} tls: SSL_new failed", id_);
    broken_ = true;
    co_return false;
  }
  ssl_.reset(ssl);
  boost::system::error_code ec;
  sock_.non_blocking(true, ec);
  // Record buffers only while a record is in flight (idle connections hold none);
  // writes may be partial and resumed from a moved buffer (out_ may reallocate).
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A TCP close without close_notify reads as an ordinary EOF (mail protocols end with
  // their own QUIT/LOGOUT; RFC 8446 §6.1).
  SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (ec || SSL_set_fd(ssl, sock_.native_handle()) != 1) {
    spdlog::error("{} tls: cannot attach to the socket", id_);
    broken_ = true;
    co_return false;
  }
  SSL_set_accept_state(ssl);
  ReadStatus st = co_await tls_run(TlsStep::handshake, std::min(deadline_after(timeout), session_deadline_));
  if (st == ReadStatus::Timeout) {
    spdlog::info("{} tls handshake timeout", id_);
    broken_ = true;
    co_return false;
  }
  if (st != ReadStatus::Ok) {
    spdlog::info("{} tls handshake failed: {}", id_, tls_error_);
    broken_ = true;
    co_return false;
  }
  tls_ok_ = true;
  TlsInfo info = tls_info();
  spdlog::info("{} tls version={} cipher={} bits={}", id_, info.version, info.cipher, info.bits);
  co_return true;
}

asio::awaitable<bool> ConnectionImpl::start_tls() {
  if (ssl_) co_return false;
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
  if (ssl_ && tls_ok_ && !broken_ && sock_.is_open()) {
    // Send close_notify (bounded); RFC 8446 §6.1 lets us close without the peer's.
    co_await tls_run(TlsStep::shutdown, deadline_after(kTlsShutdownWait));
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
