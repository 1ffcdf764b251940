// Outbound SMTP connection driver (driver.hpp): sockets, TLS and timeouts around
// the pure ClientSession.
#include "driver.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "tern/smtp/reply_parser.hpp"

namespace tern::mta::client {
namespace {

using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kConnectTimeout = std::chrono::seconds(30);
constexpr auto kBlockTimeout = std::chrono::minutes(3);  // RFC 5321 4.5.3.2.5

class Wire {
 public:
  Wire(asio::any_io_executor ex, asio::ssl::context& ctx) : stream_(ex, ctx), timer_(ex) {}

  asio::awaitable<boost::system::error_code> connect(const std::string& ip, std::uint16_t port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(ip, ec);
    if (ec) co_return ec;
    timer_.expires_after(kConnectTimeout);
    auto r = co_await (stream_.next_layer().async_connect(tcp::endpoint(addr, port), asio::as_tuple(asio::use_awaitable)) ||
                       timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 1) co_return asio::error::timed_out;
    auto cec = std::get<0>(std::get<0>(r));
    if (!cec) {
      // The end of a message goes out as a small write of its own (the held tail, see
      // run_client_connection): Nagle would keep it back until the peer acknowledges
      // the body, i.e. for the peer's delayed ACK.
      boost::system::error_code ignored;
      stream_.next_layer().set_option(tcp::no_delay(true), ignored);
    }
    co_return cec;
  }

  // Next whole reply, or nullopt with error_ set.
  asio::awaitable<std::optional<smtp::Reply>> read_reply(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto p = parser_.next();
      if (p.status == smtp::ReplyParser::Status::Reply) co_return std::move(p.reply);
      if (p.status == smtp::ReplyParser::Status::Error) {
        error_ = "protocol error: " + p.error;
        co_return std::nullopt;
      }
      timer_.expires_at(deadline);
      std::size_t n = 0;
      boost::system::error_code ec;
      if (tls_) {
        auto r = co_await (stream_.async_read_some(asio::buffer(buf_), asio::as_tuple(asio::use_awaitable)) ||
                           timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (r.index() == 1) { error_ = "timeout waiting for a reply"; co_return std::nullopt; }
        std::tie(ec, n) = std::get<0>(r);
      } else {
        auto r = co_await (stream_.next_layer().async_read_some(asio::buffer(buf_), asio::as_tuple(asio::use_awaitable)) ||
                           timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (r.index() == 1) { error_ = "timeout waiting for a reply"; co_return std::nullopt; }
        std::tie(ec, n) = std::get<0>(r);
      }
      if (ec) {
        error_ = ec == asio::error::eof ? "connection closed by the server" : "read: " + ec.message();
        co_return std::nullopt;
      }
      parser_.feed(std::string_view(buf_.data(), n));
    }
  }

  asio::awaitable<bool> write(std::string_view bytes, std::chrono::seconds timeout) {
    timer_.expires_after(timeout);
    boost::system::error_code ec;
    if (tls_) {
      auto r = co_await (asio::async_write(stream_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable)) ||
                         timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 1) { error_ = "timeout writing"; co_return false; }
      ec = std::get<0>(std::get<0>(r));
    } else {
      auto r = co_await (asio::async_write(stream_.next_layer(), asio::buffer(bytes), asio::as_tuple(asio::use_awaitable)) ||
                         timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 1) { error_ = "timeout writing"; co_return false; }
      ec = std::get<0>(std::get<0>(r));
    }
    if (ec) {
      error_ = "write: " + ec.message();
      co_return false;
    }
    co_return true;
  }

  // Large bodies go out in blocks, each with its own deadline.
  asio::awaitable<bool> write_blocks(std::string_view bytes) {
    constexpr std::size_t kBlock = 256 * 1024;
    for (std::size_t off = 0; off < bytes.size(); off += kBlock) {
      bool ok = co_await write(bytes.substr(off, kBlock), std::chrono::duration_cast<std::chrono::seconds>(kBlockTimeout));
      if (!ok) co_return false;
    }
    co_return true;
  }

  // Discards pipelined input (the injection check), then the handshake.
  asio::awaitable<bool> start_tls(const ClientTls& tls, bool& injected) {
    injected = parser_.has_buffered();
    parser_.clear();
    SSL* ssl = stream_.native_handle();
    if (!tls.verify_name.empty()) SSL_set_tlsext_host_name(ssl, tls.verify_name.c_str());
    if (tls.verify) {
      stream_.set_verify_mode(asio::ssl::verify_peer);
      stream_.set_verify_callback(asio::ssl::host_name_verification(tls.verify_name));
    } else {
      stream_.set_verify_mode(asio::ssl::verify_none);
    }
    timer_.expires_after(std::chrono::minutes(2));
    auto r = co_await (stream_.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable)) ||
                       timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 1) {
      error_ = "timeout in the TLS handshake";
      co_return false;
    }
    auto ec = std::get<0>(std::get<0>(r));
    if (ec) {
      long v = SSL_get_verify_result(ssl);
      error_ = v != X509_V_OK ? std::string("certificate verification failed: ") + X509_verify_cert_error_string(v)
                              : "TLS handshake: " + ec.message();
      co_return false;
    }
    tls_ = true;
    co_return true;
  }

  std::string tls_version() { return tls_ ? SSL_get_version(stream_.native_handle()) : ""; }
  void close() {
    boost::system::error_code ec;
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_.next_layer().close(ec);
  }
  const std::string& error() const { return error_; }

 private:
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  smtp::ReplyParser parser_;
  std::array<char, 16384> buf_{};
  bool tls_ = false;
  std::string error_;
};

// The commit of a finished message (MessageSource::done), running while the connection
// goes on with the next one; the next message's end waits for it.
struct PendingDone {
  explicit PendingDone(const asio::any_io_executor& ex) : timer(ex, Clock::time_point::max()) {}
  bool finished = false;
  asio::steady_timer timer;  // cancelled when finished
};

asio::awaitable<void> run_done(MessageSource* source, OutMessage* m, std::shared_ptr<PendingDone> p) {
  try {
    co_await source->done(m);
  } catch (const std::exception& e) {
    spdlog::error("outbound: recording a result failed: {}", e.what());
  }
  p->finished = true;
  p->timer.cancel();
}

// Waits for the pending commit, if any (single-threaded executor: no race between the
// check and the wait).
asio::awaitable<void> await_done(std::shared_ptr<PendingDone>& p) {
  if (!p) co_return;
  while (!p->finished) {
    auto r = co_await p->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)r;
  }
  p.reset();
}

}  // namespace

std::string dot_stuff(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 64 + 8);
  std::size_t pos = 0;
  if (!body.empty() && body.front() == '.') out += '.';
  for (;;) {
    auto nl = body.find("\n.", pos);
    if (nl == std::string_view::npos) {
      out.append(body.substr(pos));
      break;
    }
    out.append(body.substr(pos, nl + 1 - pos));
    out += '.';
    pos = nl + 1;
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

std::shared_ptr<asio::ssl::context> make_client_tls_context(bool verify, const std::string& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::no_compression);
  if (verify) {
    ctx->set_default_verify_paths();
    if (!ca_file.empty()) ctx->load_verify_file(ca_file);
    ctx->set_verify_mode(asio::ssl::verify_peer);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

asio::awaitable<ConnectionReport> run_client_connection(std::string ip, std::uint16_t port,
                                                        Policy policy, ClientTls tls,
                                                        MessageSource& source) {
  ConnectionReport rep;
  auto ex = co_await asio::this_coro::executor;
  Wire wire(ex, *tls.ctx);
  auto ec = co_await wire.connect(ip, port);
  if (ec) {
    rep.failure = smtp::Reply(451, "4.4.1", "connect to " + ip + ":" + std::to_string(port) + ": " + ec.message());
    co_return rep;
  }
  bool implicit = policy.implicit_tls;
  if (implicit) {
    bool injected = false;
    bool ok = co_await wire.start_tls(tls, injected);
    if (!ok) {
      rep.failure = smtp::Reply(451, "4.7.5", wire.error());
      wire.close();
      co_return rep;
    }
  }
  ClientSession s(std::move(policy));
  Action a = s.on_connected();
  OutMessage* cur = nullptr;
  // The previous message's commit (source.done) runs while this connection starts the
  // next transaction; only the next message's last bytes (the final ".\r\n", or the last
  // octet of BDAT ... LAST) wait for it. So the peer can accept message N+1 only after
  // N's result is committed: at most one accepted, uncommitted message per connection
  // (the crash window of driver.hpp), and the commit's latency overlaps the next
  // message's envelope round trip and body transfer instead of adding to it.
  std::shared_ptr<PendingDone> pending;
  for (;;) {
    if (a.kind == Action::close) break;
    if (a.kind == Action::ready) {
      rep.connected = true;
      cur = co_await source.next();
      if (!cur) {
        a = s.quit();
        continue;
      }
      cur->attempted = true;
      ++rep.messages;
      a = s.start_message(cur->env);
      continue;
    }
    if (a.kind == Action::message_done) {
      if (cur) {
        cur->result = s.message_result();
        OutMessage* finished = cur;
        finished->tls = wire.tls_version();
        cur = nullptr;
        co_await await_done(pending);  // normally done already (this message's end waited)
        pending = std::make_shared<PendingDone>(ex);
        asio::co_spawn(ex, run_done(&source, finished, pending), asio::detached);
      }
      a = Action{Action::ready, {}, false};
      continue;
    }
    if (a.kind == Action::start_tls) {
      bool injected = false;
      bool ok = co_await wire.start_tls(tls, injected);
      if (injected) spdlog::warn("outbound {}:{}: discarded data the server sent before the TLS handshake (STARTTLS injection)", ip, port);
      a = s.on_tls_done(ok, wire.error());
      continue;
    }
    if (a.kind == Action::send || a.kind == Action::send_body) {
      bool ok = true;
      if (a.kind == Action::send_body) {
        // Everything but the tail now; the tail once the previous commit is done.
        std::string framed;
        std::string_view head, tail;
        if (a.bdat) {
          ok = co_await wire.write(a.bytes, std::chrono::minutes(3));
          if (cur) head = cur->body;
          std::size_t keep = head.empty() ? 0 : 1;
          tail = head.substr(head.size() - keep);
          head = head.substr(0, head.size() - keep);
        } else if (cur) {
          framed = dot_stuff(cur->body);
          head = std::string_view(framed).substr(0, framed.size() - 3);
          tail = std::string_view(framed).substr(framed.size() - 3);
        }
        if (pending && pending->finished) pending.reset();
        if (ok && !pending) {
          head = std::string_view(head.data(), head.size() + tail.size());  // contiguous
          tail = {};
        }
        if (ok && !head.empty()) ok = co_await wire.write_blocks(head);
        if (ok && !tail.empty()) {
          co_await await_done(pending);
          ok = co_await wire.write(tail, std::chrono::minutes(3));
        }
      } else {
        ok = co_await wire.write(a.bytes, std::chrono::minutes(5));
      }
      if (!ok) {
        a = s.on_transport_error(wire.error());
        continue;
      }
    }
    // wait (or after a send): read the next reply.
    auto r = co_await wire.read_reply(s.wait_timeout());
    if (!r) {
      a = s.on_transport_error(wire.error());
      continue;
    }
    a = s.on_reply(*r);
  }
  co_await await_done(pending);
  // A message cut off mid-transaction gets the failure as its result.
  if (cur) {
    cur->result = s.message_result();
    for (auto& r : cur->result.rcpt)
      if (r.empty()) r = s.failure().empty() ? smtp::Reply(451, "4.4.2", "connection lost") : s.failure();
    cur->tls = wire.tls_version();
    co_await source.done(cur);
  }
  rep.connected = rep.connected || s.extensions().esmtp;
  rep.tls = wire.tls_version();
  rep.failure = s.failure();
  rep.failure_permanent = s.failure_permanent();
  wire.close();
  co_return rep;
}

}  // namespace tern::mta::client
