// tern_net over real loopback sockets: a Server with a small line protocol, driven by
// TestClient (plain and TLS). Every test binds ephemeral ports and is bounded.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "net_test_util.hpp"
#include "tern/net/tls.hpp"

using namespace tern;
using namespace tern::net;
using namespace tern::net::test;

namespace {

std::string status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::Ok: return "OK";
    case ReadStatus::TooLong: return "TOOLONG";
    case ReadStatus::BareLf: return "BARELF";
    case ReadStatus::BareCr: return "BARECR";
    case ReadStatus::Eof: return "EOF";
    case ReadStatus::Timeout: return "TIMEOUT";
    case ReadStatus::Error: return "ERROR";
  }
  return "?";
}

// The test protocol. Greeting "HELLO <id>"; each line gets one reply:
//   QUIT → BYE (end) · STARTTLS → GO + upgrade · TLS? → "<version> <cipher> <bits>"
//   READ n → read_exact(n) → "GOT <bytes>" · THREAD → run_blocking thread check
//   SHORT → 300 ms timeout from now on · STOPPING? → YES/NO
//   anything else → "<STATUS> <line>" (status of read_line with max 16)
//   On Timeout: "TIMEOUT" and close; on Eof/Error: end.
asio::awaitable<void> line_session(Connection& c) {
  c.write("HELLO " + c.id() + "\r\n");
  if (!co_await c.flush()) co_return;
  for (;;) {
    LineRead r = co_await c.read_line(16);
    if (r.status == ReadStatus::Eof || r.status == ReadStatus::Error) co_return;
    if (r.status == ReadStatus::Timeout) {
      c.write("TIMEOUT\r\n");
      co_await c.flush();
      co_return;
    }
    if (r.status != ReadStatus::Ok) {
      c.write(status_name(r.status) + " " + r.line + "\r\n");
    } else if (r.line == "QUIT") {
      c.write("BYE\r\n");
      co_await c.flush();
      co_return;
    } else if (r.line == "STARTTLS") {
      c.write("GO\r\n");
      if (!co_await c.start_tls()) co_return;
      continue;  // nothing to flush: the client speaks first after the handshake
    } else if (r.line == "TLS?") {
      TlsInfo t = c.tls_info();
      c.write(c.is_tls() ? t.version + " " + t.cipher + " " + std::to_string(t.bits) + "\r\n"
                         : "PLAIN\r\n");
    } else if (r.line.rfind("READ ", 0) == 0) {
      std::string got;
      auto st = co_await c.read_exact(std::stoul(r.line.substr(5)), got);
      c.write(st == ReadStatus::Ok ? "GOT " + got + "\r\n" : status_name(st) + "\r\n");
    } else if (r.line == "THREAD") {
      const auto session_thread = std::this_thread::get_id();
      auto pool_thread = co_await c.run_blocking([] { return std::this_thread::get_id(); });
      bool threw = false;
      try {
        co_await c.run_blocking([]() -> int { throw std::runtime_error("boom"); });
      } catch (const std::runtime_error&) {
        threw = true;
      }
      const bool back = std::this_thread::get_id() == session_thread;
      c.write(std::string(back ? "SAME" : "DIFF") +
              (pool_thread != session_thread ? " POOL" : " INLINE") +
              (threw ? " RETHROWN" : " LOST") + "\r\n");
    } else if (r.line == "SHORT") {
      c.set_timeout(std::chrono::milliseconds(300));
      c.write("SHORT\r\n");
    } else if (r.line == "STOPPING?") {
      c.write(c.stopping() ? "YES\r\n" : "NO\r\n");
    } else {
      c.write("OK " + r.line + "\r\n");
    }
    // Pipelining: reply in one send once the client's input is used up.
    if (!c.has_buffered_input()) {
      bool sent = co_await c.flush();  // (GCC 12: never co_await inside &&)
      if (!sent) co_return;
    }
  }
}

ListenerOptions line_listener(const std::string& name, const std::string& host = "127.0.0.1",
                              bool implicit_tls = false) {
  ListenerOptions o;
  o.name = name;
  o.endpoints = {config::Endpoint{host, 0}};
  o.implicit_tls = implicit_tls;
  o.over_limit_reply = "421 too many connections\r\n";
  o.session = line_session;
  return o;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("read_line statuses over a real socket", "[net][server]") {
  TestServer ts;
  ts.make().add_listener(line_listener("plain"));
  ts.start();
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("plain")));
  auto hello = c.line();
  REQUIRE(hello);
  CHECK(hello->rfind("HELLO ", 0) == 0);
  CHECK(hello->size() == 6 + 8);  // 8 hex chars of session id

  CHECK(c.command("hello") == "OK hello");
  // Exactly 16 octets is fine, 17 is TooLong, and the next line still works.
  CHECK(c.command("0123456789abcdef") == "OK 0123456789abcdef");
  CHECK(c.command(std::string(5000, 'x')) == "TOOLONG ");
  CHECK(c.command("after") == "OK after");
  REQUIRE(!c.send("bare\n"));
  CHECK(c.line() == "BARELF bare");
  REQUIRE(!c.send("a\rb\r\n"));
  CHECK(c.line() == "BARECR a\rb");
  // Pipelined commands: replies come back in order.
  REQUIRE(!c.send("one\r\ntwo\r\nthree\r\n"));
  CHECK(c.line() == "OK one");
  CHECK(c.line() == "OK two");
  CHECK(c.line() == "OK three");
  // A partial line is buffered (so the session does not flush): the read that
  // waits for the rest flushes the queued reply itself.
  REQUIRE(!c.send("one\r\ntw"));
  CHECK(c.line(1500ms) == "OK one");
  REQUIRE(!c.send("o\r\n"));
  CHECK(c.line() == "OK two");
  // read_exact takes buffered input first, then reads the rest.
  REQUIRE(!c.send("READ 10\r\n0123"));
  std::this_thread::sleep_for(50ms);
  REQUIRE(!c.send("456789"));
  CHECK(c.line() == "GOT 0123456789");
  CHECK(c.command("QUIT") == "BYE");
  CHECK(c.closed_by_peer());
}

TEST_CASE("read_line Timeout and Eof", "[net][server]") {
  TestServer ts;
  ts.make().add_listener(line_listener("plain"));
  ts.start();
  {
    TestClient c;
    REQUIRE(!c.connect(ts.endpoint("plain")));
    REQUIRE(c.line());
    CHECK(c.command("SHORT") == "SHORT");
    // A partial line does not reset the deadline (whole-line deadline).
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(!c.send("part"));
    CHECK(c.line() == "TIMEOUT");
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 250ms);
    CHECK(took < 2s);
    CHECK(c.closed_by_peer());
  }
  {
    // Eof: the client closes; the session ends and the server stays healthy.
    TestClient c;
    REQUIRE(!c.connect(ts.endpoint("plain")));
    REQUIRE(c.line());
    c.close();
  }
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("plain")));
  REQUIRE(c.line());
  CHECK(c.command("still") == "OK still");
}

TEST_CASE("STARTTLS upgrade discards input pipelined before it", "[net][tls]") {
  TestServer ts;
  ts.make().add_listener(line_listener("plain"));
  ts.start();
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("plain")));
  REQUIRE(c.line());
  CHECK(c.command("TLS?") == "PLAIN");
  // RFC 3207 §4.2: the injected command must not be executed after the upgrade.
  REQUIRE(!c.send("STARTTLS\r\nINJECTED\r\n"));
  REQUIRE(c.line() == "GO");
  REQUIRE(!c.handshake());
  auto info = c.command("TLS?");
  REQUIRE(info);
  CHECK(info->rfind("TLSv1.", 0) == 0);
  CHECK(info->find("TLSv1.1 ") == std::string::npos);
  CHECK(c.command("secure") == "OK secure");
  CHECK(c.command("QUIT") == "BYE");
}

TEST_CASE("implicit TLS listener, and TLS 1.1 is refused", "[net][tls]") {
  TestServer ts;
  ts.make().add_listener(line_listener("tls", "127.0.0.1", true));
  ts.start();
  {
    TestClient c;
    REQUIRE(!c.connect(ts.endpoint("tls")));
    REQUIRE(!c.handshake());
    auto hello = c.line();
    REQUIRE(hello);
    CHECK(hello->rfind("HELLO ", 0) == 0);
    auto info = c.command("TLS?");
    REQUIRE(info);
    CHECK((info->rfind("TLSv1.3 ", 0) == 0 || info->rfind("TLSv1.2 ", 0) == 0));
    CHECK(c.command("QUIT") == "BYE");
  }
  {
    // TLS 1.2: only ECDHE + AEAD suites.
    TestClient c;
    c.set_tls_versions(TLS1_2_VERSION, TLS1_2_VERSION);
    REQUIRE(!c.connect(ts.endpoint("tls")));
    REQUIRE(!c.handshake());
    REQUIRE(c.line());
    auto info = c.command("TLS?");
    REQUIRE(info);
    CHECK(info->rfind("TLSv1.2 ECDHE-", 0) == 0);
    CHECK((info->find("GCM") != std::string::npos || info->find("CHACHA20") != std::string::npos));
  }
  for (int old : {TLS1_VERSION, TLS1_1_VERSION}) {
    // A client limited to TLS 1.0/1.1 (and willing to use it) is refused.
    TestClient c;
    c.set_tls_versions(old, old);
    REQUIRE(!c.connect(ts.endpoint("tls")));
    CHECK(c.handshake());
  }
  {
    // A client speaking plaintext to the TLS port gets no greeting.
    TestClient c;
    REQUIRE(!c.connect(ts.endpoint("tls")));
    REQUIRE(!c.send("HELO x\r\n"));
    CHECK(c.closed_by_peer());
  }
}

TEST_CASE("per-IP cap: over_limit_reply then close; freed slots are reused", "[net][server]") {
  TestServer ts;
  ListenerOptions o = line_listener("plain");
  o.max_per_ip = 2;
  ts.make().add_listener(std::move(o));
  ts.start();
  auto a = std::make_unique<TestClient>();
  TestClient b, c;
  REQUIRE(!a->connect(ts.endpoint("plain")));
  REQUIRE(a->line());
  REQUIRE(!b.connect(ts.endpoint("plain")));
  REQUIRE(b.line());
  REQUIRE(!c.connect(ts.endpoint("plain")));
  CHECK(c.line() == "421 too many connections");
  CHECK(c.closed_by_peer());
  // Free one slot; the server notices the close and admits a new client.
  CHECK(a->command("QUIT") == "BYE");
  a.reset();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    TestClient d;
    REQUIRE(!d.connect(ts.endpoint("plain")));
    auto l = d.line();
    admitted = l && l->rfind("HELLO ", 0) == 0;
    if (!admitted) std::this_thread::sleep_for(20ms);
  }
  CHECK(admitted);
}

TEST_CASE("total cap per listener", "[net][server]") {
  TestServer ts;
  ListenerOptions o = line_listener("plain");
  o.max_connections = 1;
  ts.make().add_listener(std::move(o));
  ts.start();
  TestClient a, b;
  REQUIRE(!a.connect(ts.endpoint("plain")));
  REQUIRE(a.line());
  REQUIRE(!b.connect(ts.endpoint("plain")));
  CHECK(b.line() == "421 too many connections");
}

TEST_CASE("run_blocking runs on the pool and resumes on the session's thread", "[net][server]") {
  TestServer ts(4);
  ts.make().add_listener(line_listener("plain"));
  ts.start();
  for (int i = 0; i < 4; ++i) {  // round-robin puts these on different threads
    TestClient c;
    REQUIRE(!c.connect(ts.endpoint("plain")));
    REQUIRE(c.line());
    CHECK(c.command("THREAD") == "SAME POOL RETHROWN");
  }
}

TEST_CASE("graceful stop: stopping() seen, idle sessions closed after the grace", "[net][server]") {
  TestServer ts;
  ts.make().add_listener(line_listener("plain"));
  ts.server->set_shutdown_grace(std::chrono::seconds(1));
  ts.start();
  TestClient busy, idle;
  REQUIRE(!busy.connect(ts.endpoint("plain")));
  REQUIRE(busy.line());
  REQUIRE(!idle.connect(ts.endpoint("plain")));
  REQUIRE(idle.line());
  CHECK(busy.command("STOPPING?") == "NO");
  const auto t0 = std::chrono::steady_clock::now();
  ts.server->stop();
  std::this_thread::sleep_for(50ms);
  CHECK(ts.server->stopping());
  CHECK(busy.command("STOPPING?") == "YES");
  // New connections are refused once the listener is closed.
  TestClient late;
  CHECK(late.connect(ts.endpoint("plain")));
  CHECK(busy.command("QUIT") == "BYE");
  // The idle one is closed at the end of the grace period; run() returns 0.
  CHECK(idle.closed_by_peer(3000ms));
  REQUIRE(ts.join_within(3000ms));
  CHECK(ts.rc.load() == 0);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 900ms);
  CHECK(took < 3s);
}

TEST_CASE("SIGTERM stops the server; run() returns 0", "[net][server][signal]") {
  TestServer ts;
  ts.make().add_listener(line_listener("plain"));
  ts.start();
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("plain")));
  REQUIRE(c.line());  // running, signal set installed
  c.close();
  std::raise(SIGTERM);
  REQUIRE(ts.join_within(3000ms));
  CHECK(ts.rc.load() == 0);
}

TEST_CASE("SIGHUP reloads TLS (a bad cert keeps the old) and calls the hooks",
          "[net][tls][signal]") {
  TestServer ts;
  Server& s = ts.make();
  s.add_listener(line_listener("tls", "127.0.0.1", true));
  std::atomic<int> hooks{0};
  s.on_reload([&] { hooks.fetch_add(1); });
  ts.start();
  auto old_ctx = s.tls().current();

  std::raise(SIGHUP);
  for (int i = 0; i < 100 && hooks.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(hooks.load() == 1);
  CHECK(s.tls().current() != old_ctx);  // a fresh context from the same files

  // Break the certificate file: reload fails, the previous context stays in use.
  const fs::path cert = ts.dir / "tls" / "cert.pem";
  const std::string good = read_file(cert);
  std::ofstream(cert, std::ios::trunc) << "not a certificate\n";
  auto before = s.tls().current();
  s.reload();
  for (int i = 0; i < 100 && hooks.load() == 1; ++i) std::this_thread::sleep_for(10ms);
  CHECK(hooks.load() == 2);
  CHECK(s.tls().current() == before);
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("tls")));
  REQUIRE(!c.handshake());
  CHECK(c.line());
  std::ofstream(cert, std::ios::trunc) << good;
}

TEST_CASE("self-signed certificate made once and reused", "[net][tls]") {
  const fs::path dir = make_temp_dir();
  std::string cert1, key1;
  {
    TestServer ts(1, dir);
    ts.make();
    cert1 = read_file(dir / "tls" / "cert.pem");
    key1 = read_file(dir / "tls" / "key.pem");
  }
  REQUIRE(cert1.find("BEGIN CERTIFICATE") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat((dir / "tls" / "key.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  {
    TestServer ts(1, dir);
    ts.make();
    CHECK(read_file(dir / "tls" / "cert.pem") == cert1);
    CHECK(read_file(dir / "tls" / "key.pem") == key1);
  }
  // The certificate names the configured hostname and lasts about 10 years.
  FILE* f = std::fopen((dir / "tls" / "cert.pem").c_str(), "r");
  REQUIRE(f);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(x);
  CHECK(X509_check_host(x, "mx.test.local", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "other.test", 0, 0, nullptr) == 0);
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
  CHECK(days >= 3650);
  X509_free(x);
  fs::remove_all(dir);
}

TEST_CASE("configured cert/key files are used; a missing file is an error", "[net][tls]") {
  const fs::path dir = make_temp_dir();
  ensure_self_signed(dir / "mine", "custom.test");
  config::Config cfg = test_config(dir);
  cfg.tls.cert = (dir / "mine" / "cert.pem").string();
  cfg.tls.key = (dir / "mine" / "key.pem").string();
  {
    TlsContext t(cfg);
    CHECK(t.cert_file() == dir / "mine" / "cert.pem");
    CHECK(!fs::exists(dir / "tls"));  // no self-signed pair made
  }
  cfg.tls.cert = (dir / "missing.pem").string();
  CHECK_THROWS_WITH(TlsContext(cfg), Catch::Contains("missing.pem"));
  fs::remove_all(dir);
}

TEST_CASE("IPv6 loopback listener", "[net][server]") {
  TestServer ts;
  try {
    ts.make().add_listener(line_listener("v6", "::1"));
  } catch (const std::runtime_error& e) {
    WARN("no IPv6 loopback here: " << e.what());
    return;
  }
  ts.start();
  auto eps = ts.server->bound_endpoints("v6");
  REQUIRE(eps.size() == 1);
  CHECK(eps[0].host == "::1");
  CHECK(eps[0].port != 0);
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("v6")));
  REQUIRE(c.line());
  CHECK(c.command("six") == "OK six");
}

TEST_CASE("bind failure names the address", "[net][server]") {
  TestServer a;
  a.make().add_listener(line_listener("plain"));
  auto taken = a.server->bound_endpoints("plain").at(0);
  TestServer b;
  ListenerOptions o = line_listener("again");
  o.endpoints = {taken};
  CHECK_THROWS_WITH(b.make().add_listener(std::move(o)), Catch::Contains(taken.text()));
}

TEST_CASE("an inherited pre-bound socket is used instead of binding", "[net][server]") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  const std::uint16_t port = ntohs(sa.sin_port);
  const std::string ep = "127.0.0.1:" + std::to_string(port);
  ::setenv("TERN_LISTEN_FDS", ("[::1]:25=99," + ep + "=" + std::to_string(fd)).c_str(), 1);

  TestServer ts;
  ListenerOptions o = line_listener("inherited");
  o.endpoints = {config::Endpoint{"127.0.0.1", port}};
  // Binding this port ourselves would fail (the fd holds it, no SO_REUSEPORT):
  // success means the fd was adopted.
  ts.make().add_listener(std::move(o));
  ::unsetenv("TERN_LISTEN_FDS");
  ts.start();
  CHECK(ts.server->bound_endpoints("inherited").at(0).port == port);
  TestClient c;
  REQUIRE(!c.connect(ts.endpoint("inherited")));
  REQUIRE(c.line());
  CHECK(c.command("inherited") == "OK inherited");
}

TEST_CASE("caps hold across io threads and are released by every thread", "[net][server]") {
  TestServer ts(4);
  ListenerOptions o = line_listener("plain");
  o.max_per_ip = 10;
  ts.make().add_listener(std::move(o));
  ts.start();
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<TestClient>> clients;
    int hello = 0, refused = 0;
    for (int i = 0; i < 25; ++i) {
      clients.push_back(std::make_unique<TestClient>());
      REQUIRE(!clients.back()->connect(ts.endpoint("plain")));
      auto l = clients.back()->line();
      REQUIRE(l);
      if (l->rfind("HELLO ", 0) == 0) ++hello;
      if (*l == "421 too many connections") ++refused;
    }
    CHECK(hello == 10);
    CHECK(refused == 15);
    for (auto& c : clients) c->close();
    clients.clear();
    // Sessions on all 4 threads see EOF and release their slots.
    for (int i = 0; i < 300 && ts.server->session_count() > 0; ++i)
      std::this_thread::sleep_for(10ms);
    REQUIRE(ts.server->session_count() == 0);
  }
}
