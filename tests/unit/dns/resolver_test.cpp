// tern::dns::Resolver against a real unbound on loopback (TestUnbound).
#include "tern/dns/resolver.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <netinet/in.h>

#include <atomic>
#include <thread>

#include "test_unbound.hpp"

using namespace tern;
using dns::Status;

namespace {

const char* kRemoteZone = R"(
$ORIGIN remote.test.
$TTL 300
@        IN SOA ns.remote.test. hostmaster.remote.test. 1 3600 600 86400 300
@        IN NS  ns
ns       IN A   127.0.0.1
@        IN MX  20 mx2
@        IN MX  10 mx1
@        IN MX  30 mx3
mx1      IN A   127.0.0.1
mx1      IN AAAA ::1
mx2      IN A   127.0.0.2
mx3      IN AAAA ::1
nomx     IN A   127.0.0.3
nullmx   IN MX  0 .
@        IN TXT "v=spf1 ip4:192.0.2.0/24" " -all"
multi    IN TXT "one"
multi    IN TXT "two"
long._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" "IDAQAB"
)";

const char* kReverseZone = R"(
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@        IN SOA ns.remote.test. hostmaster.remote.test. 1 3600 600 86400 300
@        IN NS  ns.remote.test.
1        IN PTR mail.remote.test.
)";

struct Fixture {
  test::TestUnbound server{{{"remote.test.", kRemoteZone}, {"2.0.192.in-addr.arpa.", kReverseZone}}};
  asio::io_context io;
  config::DnsConfig cfg;
  Fixture() { cfg.servers.push_back({"127.0.0.1", server.port()}); }

  // Run one coroutine to completion on io.
  template <class F>
  void run(F f) {
    bool done = false;
    std::exception_ptr err;
    asio::co_spawn(io, std::move(f), [&](std::exception_ptr e) {
      err = e;
      done = true;
    });
    io.run();
    io.restart();
    REQUIRE(done);
    if (err) std::rethrow_exception(err);
  }
};

}  // namespace

TEST_CASE("MX sorted by preference, with addresses", "[dns]") {
  Fixture f;
  dns::Resolver res(f.io.get_executor(), f.cfg);
  dns::MxAnswer mx;
  dns::AddressAnswer a1, a2, a3;
  f.run([&]() -> asio::awaitable<void> {
    mx = co_await res.mx("remote.test");
    a1 = co_await res.addresses("mx1.remote.test");
    a2 = co_await res.addresses("mx2.remote.test.");
    a3 = co_await res.a("mx3.remote.test");
  });
  REQUIRE(mx.status == Status::ok);
  REQUIRE_FALSE(mx.null_mx);
  REQUIRE(mx.records.size() == 3);
  CHECK(mx.records[0].preference == 10);
  CHECK(mx.records[0].host == "mx1.remote.test");
  CHECK(mx.records[1].host == "mx2.remote.test");
  CHECK(mx.records[2].host == "mx3.remote.test");
  CHECK(mx.ttl == 300);
  CHECK_FALSE(mx.secure);
  REQUIRE(a1.status == Status::ok);
  REQUIRE(a1.records == std::vector<std::string>{"::1", "127.0.0.1"});  // AAAA first
  REQUIRE(a2.records == std::vector<std::string>{"127.0.0.2"});
  CHECK(a3.status == Status::no_data);  // mx3 has only AAAA
}

TEST_CASE("NXDOMAIN, no data, null MX and temporary failure are told apart", "[dns]") {
  Fixture f;
  dns::Resolver res(f.io.get_executor(), f.cfg);
  dns::MxAnswer nx, nodata, null_mx, refused;
  dns::AddressAnswer nx_addr, bad;
  f.run([&]() -> asio::awaitable<void> {
    nx = co_await res.mx("nope.remote.test");
    nodata = co_await res.mx("nomx.remote.test");
    null_mx = co_await res.mx("nullmx.remote.test");
    refused = co_await res.mx("elsewhere.example");  // outside the served zones: REFUSED
    nx_addr = co_await res.addresses("nope.remote.test");
    bad = co_await res.a("a..b.remote.test");
  });
  CHECK(nx.status == Status::nxdomain);
  CHECK(nodata.status == Status::no_data);
  CHECK(null_mx.status == Status::ok);
  CHECK(null_mx.null_mx);
  CHECK(null_mx.records.empty());
  CHECK(refused.status == Status::temp_fail);
  CHECK_FALSE(refused.error.empty());
  CHECK(nx_addr.status == Status::nxdomain);
  CHECK(bad.status == Status::nxdomain);
  CHECK(bad.error == "bad name");
}

TEST_CASE("TXT strings joined per record; PTR", "[dns]") {
  Fixture f;
  dns::Resolver res(f.io.get_executor(), f.cfg);
  dns::TxtAnswer spf, multi, dkim;
  dns::NameAnswer ptr, noptr, notip;
  f.run([&]() -> asio::awaitable<void> {
    spf = co_await res.txt("remote.test");
    multi = co_await res.txt("multi.remote.test");
    dkim = co_await res.txt("long._domainkey.remote.test");
    ptr = co_await res.ptr("192.0.2.1");
    noptr = co_await res.ptr("192.0.2.9");
    notip = co_await res.ptr("not-an-ip");
  });
  REQUIRE(spf.status == Status::ok);
  REQUIRE(spf.records == std::vector<std::string>{"v=spf1 ip4:192.0.2.0/24 -all"});
  REQUIRE(multi.records.size() == 2);
  std::sort(multi.records.begin(), multi.records.end());
  CHECK(multi.records == std::vector<std::string>{"one", "two"});
  REQUIRE(dkim.records.size() == 1);
  CHECK(dkim.records[0].size() > 255);  // several strings, joined with nothing between
  CHECK(dkim.records[0].find("xyzABCDEF") != std::string::npos);
  CHECK(dkim.records[0].ends_with("XYZIDAQAB"));
  REQUIRE(ptr.status == Status::ok);
  CHECK(ptr.records == std::vector<std::string>{"mail.remote.test"});
  CHECK(noptr.status == Status::nxdomain);
  CHECK(notip.status == Status::nxdomain);
}

TEST_CASE("a server that never answers gives temp_fail timeout", "[dns]") {
  // A UDP socket nobody reads from: queries go unanswered.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  asio::io_context io;
  config::DnsConfig cfg;
  cfg.servers.push_back({"127.0.0.1", ntohs(sa.sin_port)});
  dns::Options opt;
  opt.timeout = std::chrono::milliseconds(300);
  dns::Resolver res(io.get_executor(), cfg, opt);
  dns::MxAnswer mx;
  auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { mx = co_await res.mx("remote.test"); },
                 [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  CHECK(mx.status == Status::temp_fail);
  CHECK(mx.error == "timeout");
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("[dns] timeout bounds each query when Options give none", "[dns]") {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);  // bound, never read: no answer comes
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  asio::io_context io;
  config::DnsConfig cfg;
  cfg.servers.push_back({"127.0.0.1", ntohs(sa.sin_port)});
  cfg.timeout = std::chrono::seconds(1);
  dns::Resolver res(io.get_executor(), cfg);
  dns::TxtAnswer txt;
  auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { txt = co_await res.txt("silent.test"); },
                 [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  CHECK(txt.status == Status::temp_fail);
  CHECK(txt.error == "timeout");
  CHECK(took >= std::chrono::milliseconds(900));  // the 1 s of the config, not a default
  CHECK(took < std::chrono::milliseconds(2500));
}

TEST_CASE("many lookups from several io threads at once", "[dns]") {
  test::TestUnbound server{{{"remote.test.", kRemoteZone}}};
  config::DnsConfig cfg;
  cfg.servers.push_back({"127.0.0.1", server.port()});
  asio::io_context dns_io, a_io, b_io;
  dns::Resolver res(dns_io.get_executor(), cfg);
  std::atomic<int> ok{0}, wrong{0}, done{0};
  auto worker = [&](asio::io_context& io, int n) {
    for (int i = 0; i < n; ++i) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        auto tid = std::this_thread::get_id();
        auto mx = co_await res.mx(i % 2 ? "remote.test" : "nullmx.remote.test");
        // Resumed on the awaiting io thread, not the resolver's.
        if (std::this_thread::get_id() != tid) ++wrong;
        if (mx.status == Status::ok && (i % 2 ? mx.records.size() == 3 : mx.null_mx)) ++ok;
        ++done;
      }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    }
  };
  worker(a_io, 100);
  worker(b_io, 100);
  auto guard = asio::make_work_guard(dns_io);
  std::thread t_dns([&] { dns_io.run(); });
  std::thread ta([&] { a_io.run(); });  // returns only when its 100 lookups are done
  std::thread tb([&] { b_io.run(); });
  ta.join();
  tb.join();
  guard.reset();
  res.shutdown();
  dns_io.stop();
  t_dns.join();
  CHECK(done == 200);
  CHECK(ok == 200);
  CHECK(wrong == 0);
}

TEST_CASE("shutdown answers pending queries", "[dns]") {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  asio::io_context io;
  config::DnsConfig cfg;
  cfg.servers.push_back({"127.0.0.1", ntohs(sa.sin_port)});
  dns::Resolver res(io.get_executor(), cfg);
  dns::TxtAnswer t;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { t = co_await res.txt("remote.test"); },
                 [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  asio::steady_timer stop(io, std::chrono::milliseconds(100));
  stop.async_wait([&](auto) { res.shutdown(); });
  io.run();
  ::close(fd);
  CHECK(t.status == Status::temp_fail);
  CHECK(t.error == "resolver shut down");
}
