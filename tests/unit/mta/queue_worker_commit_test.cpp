// The queue worker's result commits (queue/worker.cpp, commit_runner): with several
// connections to a fast peer, the results of all of them share each commit, instead of
// the connections taking turns (half of them in each commit) because the ones a commit
// released report a round trip after it ended. A real store in a temp dir whose commits
// take >= 40 ms (StoreOptions::group_window), a real loopback SMTP peer, the real worker.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "queue/worker.hpp"
#include "tern/net/asio.hpp"
#include "../store/store_fixture.hpp"

using namespace tern;
using tcp = boost::asio::ip::tcp;

namespace {

// A minimal SMTP peer: answers every command line at once (so pipelined commands get
// their replies in order) and 250 after each message's end.
class FastPeer {
 public:
  // stall: never answer a message's end (the connection hangs until the client closes).
  explicit FastPeer(bool stall = false) : stall_(stall), acc_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port = acc_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~FastPeer() {
    stop_ = true;
    {
      // A blocked accept() is not woken by close(): a connection wakes it.
      asio::io_context io;
      tcp::socket wake(io);
      boost::system::error_code ec;
      wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    }
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  std::uint16_t port = 0;
  std::atomic<int> messages{0};
  std::atomic<int> connections{0};

 private:
  void accept_loop() {
    while (!stop_) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acc_.accept(s, ec);
      if (ec || stop_) return;
      ++connections;
      conns_.emplace_back([this, sock = std::move(s)]() mutable { serve(std::move(sock)); });
    }
  }
  void serve(tcp::socket s) {
    boost::system::error_code ec;
    s.set_option(tcp::no_delay(true), ec);
    auto say = [&](const std::string& r) { asio::write(s, asio::buffer(r), ec); };
    say("220 peer ESMTP\r\n");
    std::string buf;
    bool data = false;
    for (;;) {
      auto nl = buf.find("\r\n");
      if (nl == std::string::npos) {
        char tmp[8192];
        std::size_t n = s.read_some(asio::buffer(tmp), ec);
        if (ec) return;
        buf.append(tmp, n);
        continue;
      }
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      if (data) {
        if (line == ".") {
          data = false;
          ++messages;
          if (!stall_) say("250 2.0.0 queued\r\n");
        }
        continue;
      }
      std::string verb = line.substr(0, 4);
      if (verb == "EHLO") say("250-peer\r\n250 PIPELINING\r\n");
      else if (verb == "DATA") { data = true; say("354 go\r\n"); }
      else if (verb == "QUIT") { say("221 bye\r\n"); return; }
      else say("250 ok\r\n");
      if (ec) return;
    }
  }
  bool stall_ = false;
  asio::io_context io_;
  tcp::acceptor acc_;
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::atomic<bool> stop_{false};
};

// Queues one message from a@example.test to u@[127.0.0.1] (an address literal: no DNS).
void queue_one(store::Store& st, const std::string& subject, const std::string& body) {
  store::DeliveryRequest r;
  r.body = "From: a@example.test\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n";
  store::OutboundEntry e;
  e.sender = "a@example.test";
  e.recipient = "u@[127.0.0.1]";
  r.outbound.push_back(e);
  REQUIRE(st.enqueue(r));
}

}  // namespace

TEST_CASE("results of all connections share each commit", "[queue][worker]") {
  constexpr int kConnections = 4;
  constexpr int kMessages = 32;
  store::StoreOptions opt;
  opt.group_window = std::chrono::milliseconds(40);  // every commit takes >= 40 ms
  store::test::Fixture fx(opt);
  for (int i = 0; i < kMessages; ++i) queue_one(*fx.store, "m" + std::to_string(i), "body " + std::to_string(i));

  FastPeer peer;
  config::Config cfg;
  cfg.hostname = "mx.example.test";
  cfg.outbound.port = peer.port;
  cfg.outbound.connections_per_destination = kConnections;
  asio::thread_pool pool(2);
  auto before = fx.store->last_commit();
  {
    mta::queue::QueueWorker w(cfg, *fx.store, pool);
    w.start();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto q = fx.store->list_queue();
      REQUIRE(q);
      if (q->empty() || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    w.stop();
  }
  auto commits = fx.store->last_commit() - before;
  auto q = fx.store->list_queue();
  REQUIRE(q);
  CHECK(q->empty());
  CHECK(peer.messages == kMessages);
  CHECK(peer.connections == kConnections);
  INFO("commits for " << kMessages << " messages over " << kConnections << " connections: " << commits);
  // Taking turns: ~kMessages / (kConnections / 2) = 16 commits. Sharing: ~kMessages /
  // kConnections = 8, plus the first ones before the connections line up.
  CHECK(commits <= static_cast<std::uint64_t>(kMessages / kConnections + 3));
  pool.join();
}

TEST_CASE("stopping the worker mid-transaction keeps the entries and shuts down cleanly", "[queue][worker]") {
  // Connections still open when stop()'s grace ends are destroyed with the worker's
  // io_context (their Source leaves the worker's set of connections then).
  store::test::Fixture fx;
  for (int i = 0; i < 4; ++i) queue_one(*fx.store, "s" + std::to_string(i), "body");
  FastPeer peer(/*stall=*/true);
  config::Config cfg;
  cfg.hostname = "mx.example.test";
  cfg.outbound.port = peer.port;
  cfg.outbound.connections_per_destination = 2;
  asio::thread_pool pool(2);
  {
    mta::queue::QueueWorker w(cfg, *fx.store, pool);
    w.start();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (peer.messages < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(peer.messages == 2);  // both connections wait for the peer's final reply
    w.stop(std::chrono::seconds(1));
  }
  auto q = fx.store->list_queue();
  REQUIRE(q);
  CHECK(q->size() == 4);  // nothing was accepted, nothing removed
  pool.join();
}

TEST_CASE("an idle worker sends a newly queued message at once, not at the next 250 ms scan", "[queue][worker]") {
  // Commits (ternctl queue flush and submissions in other processes, or here this
  // test's own enqueue) reach the worker through the store's commit watcher (inotify on
  // the store file, whoever commits). Polling alone: each pick-up waits 0-250 ms, so
  // 10 of 12 under 100 ms by luck: 0.3%. Timed from the enqueue's return, so that a slow
  // fsync on a busy CI disk is not counted, and 2 of 12 may be late (a busy CPU).
  store::test::Fixture fx;
  FastPeer peer;
  config::Config cfg;
  cfg.hostname = "mx.example.test";
  cfg.outbound.port = peer.port;
  asio::thread_pool pool(2);
  std::vector<double> waits;
  {
    mta::queue::QueueWorker w(cfg, *fx.store, pool);
    w.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the first scan is done
    for (int i = 0; i < 12; ++i) {
      const int before = peer.messages;
      queue_one(*fx.store, "p" + std::to_string(i), "body");
      const auto t0 = std::chrono::steady_clock::now();
      auto deadline = t0 + std::chrono::seconds(10);
      while (peer.messages == before && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      REQUIRE(peer.messages == before + 1);
      waits.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      // Let the worker go idle again (its result commit done) at a random phase of
      // its 250 ms tick.
      std::this_thread::sleep_for(std::chrono::milliseconds(60 + 37 * (i % 6)));
    }
    w.stop();
  }
  std::string all;
  for (double ms : waits) all += std::to_string(static_cast<int>(ms)) + " ";
  INFO("enqueue -> peer's message, ms: " << all);
  CHECK(std::count_if(waits.begin(), waits.end(), [](double ms) { return ms < 100; }) >= 10);
  pool.join();
}
