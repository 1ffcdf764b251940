// The outbound SMTP driver on a real loopback socket: the next message's transaction
// overlaps the previous message's commit (MessageSource::done), but its end waits for
// that commit (driver.hpp), and the DATA framing.
#include "smtp_client/driver.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace tern::mta::client;
using tcp = boost::asio::ip::tcp;

TEST_CASE("dot_stuff doubles leading dots and ends the data", "[smtp_client]") {
  CHECK(dot_stuff("") == ".\r\n");
  CHECK(dot_stuff("a\r\n") == "a\r\n.\r\n");
  CHECK(dot_stuff("a") == "a\r\n.\r\n");
  CHECK(dot_stuff(".a\r\n") == "..a\r\n.\r\n");
  CHECK(dot_stuff("x\r\n.\r\n..y\r\nz.\r\n.") == "x\r\n..\r\n...y\r\nz.\r\n..\r\n.\r\n");
}

namespace {

constexpr auto kCommitDelay = std::chrono::milliseconds(800);

// Gives `bodies` one after the other; done() takes kCommitDelay (a slow fsync).
class SlowCommitSource final : public MessageSource {
 public:
  explicit SlowCommitSource(std::vector<std::string> bodies) : committed(bodies.size()) {
    for (auto& b : bodies) {
      OutMessage m;
      m.env.mail_from = "a@example.test";
      m.env.rcpts = {{"x@remote.test", "", ""}};
      m.env.size = b.size();
      m.body = std::move(b);
      msgs.push_back(std::move(m));
    }
    for (auto& c : committed) c = false;
  }
  asio::awaitable<OutMessage*> next() override {
    if (next_ >= msgs.size()) co_return nullptr;
    co_return &msgs[next_++];
  }
  asio::awaitable<void> done(OutMessage* m) override {
    asio::steady_timer t(co_await asio::this_coro::executor, kCommitDelay);
    co_await t.async_wait(asio::use_awaitable);
    committed[static_cast<std::size_t>(m - msgs.data())] = true;
  }
  std::vector<OutMessage> msgs;
  std::vector<std::atomic<bool>> committed;

 private:
  std::size_t next_ = 0;
};

std::string read_until(tcp::socket& s, std::string& buf, const std::string& delim) {
  for (;;) {
    auto p = buf.find(delim);
    if (p != std::string::npos) {
      std::string out = buf.substr(0, p + delim.size());
      buf.erase(0, p + delim.size());
      return out;
    }
    char tmp[4096];
    boost::system::error_code ec;
    std::size_t n = s.read_some(asio::buffer(tmp), ec);
    if (ec) throw std::runtime_error("peer read: " + ec.message());
    buf.append(tmp, n);
  }
}

}  // namespace

TEST_CASE("the next message overlaps the previous commit but its end waits for it", "[smtp_client]") {
  asio::io_context peer_io;
  tcp::acceptor acc(peer_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acc.local_endpoint().port();
  std::vector<std::string> bodies = {"Subject: one\r\n\r\n.leading dot\r\n",
                                     "Subject: two\r\n\r\nbody\r\n.\r\nafter a lone dot\r\n",
                                     "Subject: three\r\n\r\nlast"};
  SlowCommitSource src(bodies);

  // What the peer saw: per message, whether the previous one was committed when its
  // MAIL arrived and when its end of data arrived; the bodies as received.
  std::vector<bool> committed_at_mail, committed_at_end;
  std::vector<std::string> received;
  std::string peer_error;
  std::thread peer([&] {
    try {
      tcp::socket s(peer_io);
      acc.accept(s);
      std::string buf;
      asio::write(s, asio::buffer(std::string("220 peer ESMTP\r\n")));
      read_until(s, buf, "\r\n");  // EHLO
      asio::write(s, asio::buffer(std::string("250-peer\r\n250 PIPELINING\r\n")));
      for (std::size_t k = 0; k < bodies.size(); ++k) {
        std::string cmds = read_until(s, buf, "DATA\r\n");  // MAIL, RCPT, DATA pipelined
        if (cmds.rfind("MAIL FROM:", 0) != 0) throw std::runtime_error("expected MAIL: " + cmds);
        committed_at_mail.push_back(k == 0 || src.committed[k - 1]);
        asio::write(s, asio::buffer(std::string("250 ok\r\n250 ok\r\n354 go\r\n")));
        std::string data = read_until(s, buf, "\r\n.\r\n");
        committed_at_end.push_back(k == 0 || src.committed[k - 1]);
        received.push_back(data);
        asio::write(s, asio::buffer(std::string("250 queued\r\n")));
      }
      read_until(s, buf, "QUIT\r\n");
      asio::write(s, asio::buffer(std::string("221 bye\r\n")));
    } catch (const std::exception& e) {
      peer_error = e.what();
    }
  });

  asio::io_context io;
  Policy pol;
  pol.helo_name = "mx.example.test";
  pol.tls = TlsPolicy::none;
  ClientTls tls;
  tls.ctx = make_client_tls_context(false, "");
  ConnectionReport rep;
  bool finished = false;
  asio::co_spawn(io, run_client_connection("127.0.0.1", port, pol, tls, src),
                 [&](std::exception_ptr e, ConnectionReport r) {
                   if (e) std::rethrow_exception(e);
                   rep = std::move(r);
                   finished = true;
                 });
  io.run();
  peer.join();

  REQUIRE(peer_error.empty());
  REQUIRE(finished);
  CHECK(rep.failure.empty());
  CHECK(rep.messages == bodies.size());
  // Every done() has returned when the connection ends.
  for (std::size_t k = 0; k < bodies.size(); ++k) CHECK(src.committed[k]);
  REQUIRE(received.size() == bodies.size());
  for (std::size_t k = 0; k < bodies.size(); ++k) {
    CHECK(received[k] == dot_stuff(bodies[k]));
    CHECK(src.msgs[k].result.rcpt.size() == 1);
    CHECK(src.msgs[k].result.rcpt[0].code == 250);
    // The peer never had the end of a message before the previous commit was done...
    CHECK(committed_at_end[k]);
  }
  // ... while the next transaction started during it (the commit takes 800 ms).
  CHECK_FALSE(committed_at_mail[1]);
  CHECK_FALSE(committed_at_mail[2]);
}
