#pragma once
// Test helpers for tests/unit/net: a real Server on loopback ephemeral ports run
// on its own thread, and a small blocking-with-deadline client (plain or TLS).
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "tern/config/config.hpp"
#include "tern/net/asio.hpp"
#include "tern/net/server.hpp"

namespace tern::net::test {

namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

inline fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "tern-net-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

inline config::Config test_config(const fs::path& dir) {
  config::Config cfg;
  cfg.hostname = "mx.test.local";
  cfg.data_dir = dir;
  cfg.limits.command_timeout = std::chrono::seconds(5);
  return cfg;
}

// A Server in a temp data_dir; start() runs it on a thread; the destructor stops
// it and removes the directory.
struct TestServer {
  explicit TestServer(unsigned threads = 2, std::optional<fs::path> shared_dir = std::nullopt)
      : dir(shared_dir ? *shared_dir : make_temp_dir()),
        owns_dir(!shared_dir),
        cfg(test_config(dir)),
        threads_(threads) {}
  ~TestServer() {
    if (thread.joinable()) {
      server->stop();
      thread.join();
    }
    server.reset();
    if (owns_dir) fs::remove_all(dir);
  }
  Server& make() {
    server = std::make_unique<Server>(cfg, threads_);
    return *server;
  }
  void start() {
    thread = std::thread([this] { rc = server->run(); });
  }
  // Waits for run() to return (after stop() or a signal), bounded.
  bool join_within(std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (rc.load() == -1 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(10ms);
    if (rc.load() == -1) return false;
    thread.join();
    return true;
  }
  tcp::endpoint endpoint(const std::string& listener) {
    auto eps = server->bound_endpoints(listener);
    if (eps.empty()) throw std::runtime_error("no listener " + listener);
    return {asio::ip::make_address(eps[0].host), eps[0].port};
  }

  fs::path dir;
  bool owns_dir;
  config::Config cfg;
  unsigned threads_ = 2;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::atomic<int> rc{-1};
};

// A client whose every operation has a deadline (run_for on its own io_context).
class TestClient {
 public:
  TestClient() : ssl_(asio::ssl::context::tls_client) {
    ssl_.set_verify_mode(asio::ssl::verify_none);  // the test cert is self-signed
  }

  // Limits the client's TLS versions (e.g. TLS1_1_VERSION), allowing old
  // protocols on our side so that a refusal comes from the server.
  void set_tls_versions(int min, int max) {
    SSL_CTX* c = ssl_.native_handle();
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(c, min);
    SSL_CTX_set_max_proto_version(c, max);
  }

  boost::system::error_code connect(const tcp::endpoint& ep) {
    return wait([&](auto h) { sock_.async_connect(ep, h); });
  }
  boost::system::error_code send(const std::string& s) {
    return wait([&](auto h) {
      if (tls_)
        asio::async_write(*tls_, asio::buffer(s), h);
      else
        asio::async_write(sock_, asio::buffer(s), h);
    });
  }
  // One line without CRLF; nullopt on EOF, error or timeout.
  std::optional<std::string> line(std::chrono::milliseconds t = 3000ms) {
    auto ec = wait(
        [&](auto h) {
          if (tls_)
            asio::async_read_until(*tls_, asio::dynamic_buffer(in_), "\r\n", h);
          else
            asio::async_read_until(sock_, asio::dynamic_buffer(in_), "\r\n", h);
        },
        t);
    if (ec) {
      last_error_ = ec;
      return std::nullopt;
    }
    auto pos = in_.find("\r\n");
    std::string l = in_.substr(0, pos);
    in_.erase(0, pos + 2);
    return l;
  }
  std::optional<std::string> command(const std::string& c) {
    if (send(c + "\r\n")) return std::nullopt;
    return line();
  }
  boost::system::error_code handshake() {
    tls_.emplace(sock_, ssl_);
    return wait([&](auto h) { tls_->async_handshake(asio::ssl::stream_base::client, h); });
  }
  // True when the server closes the connection within t (no more bytes).
  bool closed_by_peer(std::chrono::milliseconds t = 3000ms) {
    auto l = line(t);
    return !l && last_error_ != asio::error::timed_out;
  }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  boost::system::error_code last_error() const { return last_error_; }
  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }

 private:
  template <class Init>
  boost::system::error_code wait(Init init, std::chrono::milliseconds t = 3000ms) {
    std::optional<boost::system::error_code> result;
    init([&](boost::system::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run_for(t);
    if (!result) {
      boost::system::error_code ignored;
      sock_.cancel(ignored);
      io_.restart();
      io_.run_for(1000ms);
      return asio::error::timed_out;
    }
    return *result;
  }

  asio::io_context io_;
  asio::ssl::context ssl_;
  tcp::socket sock_{io_};
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  std::string in_;
  boost::system::error_code last_error_;
};

}  // namespace tern::net::test
