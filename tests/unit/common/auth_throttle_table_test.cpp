// ThrottleTable: counts, decay, eviction, sharing between processes (fork), a holder
// killed with the lock held, and the Throttle rules over one shared table.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "tern/auth/authenticator.hpp"
#include "tern/auth/throttle_table.hpp"

using namespace tern::auth;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1000h;  // on a whole second

ThrottleTable::Geometry small(std::size_t entries) {
  ThrottleTable::Geometry g;
  g.entries = entries;
  g.window = 60s;
  return g;
}

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

// Waits for a child and returns its exit status (-1: it did not exit normally).
int wait_child(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, 0) != pid) return -2;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("ThrottleTable: counts per key and kind, decay by 1 s slices", "[auth][throttle_table]") {
  auto t = ThrottleTable::make_local(small(1000));
  CHECK_FALSE(t->shared());
  CHECK(t->window() == 60s);
  t->add_failure(ThrottleKind::Ip, "192.0.2.1", t0);
  t->add_failure(ThrottleKind::Ip, "192.0.2.1", t0 + 10s);
  t->add_failure(ThrottleKind::Ip, "192.0.2.1", t0 + 10s + 999ms);  // the same slice
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 11s).count == 3);
  // The same text as an account is another key.
  CHECK(t->count(ThrottleKind::Account, "192.0.2.1", t0 + 11s).count == 0);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.2", t0 + 11s).count == 0);
  // A failure counts for the window from the start of its slice.
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 59s + 999ms).count == 3);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 60s).count == 2);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 70s).count == 0);
  CHECK(t->tracked(ThrottleKind::Ip, t0 + 60s) == 1);
  CHECK(t->tracked(ThrottleKind::Ip, t0 + 70s) == 0);
  // An old ring is reused from zero, not added to.
  t->add_failure(ThrottleKind::Ip, "192.0.2.1", t0 + 200s);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 200s).count == 1);
  // A failure 30 s later reuses slices of the old window only after zeroing them.
  t->add_failure(ThrottleKind::Ip, "192.0.2.1", t0 + 230s);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 231s).count == 2);
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 261s).count == 1);
  t->clear(ThrottleKind::Ip, "192.0.2.1");
  CHECK(t->count(ThrottleKind::Ip, "192.0.2.1", t0 + 231s).count == 0);
}

TEST_CASE("ThrottleTable: when a count over the limit frees", "[auth][throttle_table]") {
  auto t = ThrottleTable::make_local(small(100));
  for (int i = 0; i < 5; ++i) t->add_failure(ThrottleKind::Account, "bob@example.test", t0 + i * 1s);
  auto c = t->count(ThrottleKind::Account, "bob@example.test", t0 + 5s, 5);
  CHECK(c.count == 5);
  CHECK(c.frees == t0 + 60s);  // the first failure leaves: 4 < 5
  c = t->count(ThrottleKind::Account, "bob@example.test", t0 + 5s, 3);
  CHECK(c.frees == t0 + 62s);  // three must leave before fewer than 3 remain
  CHECK(t->count(ThrottleKind::Account, "bob@example.test", t0 + 5s, 6).frees == TimePoint{});
}

TEST_CASE("ThrottleTable: a full set evicts its least recently failed key", "[auth][throttle_table]") {
  auto t = ThrottleTable::make_local(small(ThrottleTable::kWays));  // one set
  REQUIRE(t->capacity(ThrottleKind::Ip) == ThrottleTable::kWays);
  for (unsigned i = 0; i < ThrottleTable::kWays; ++i)
    t->add_failure(ThrottleKind::Ip, "10.0.0." + std::to_string(i), t0 + i * 1s);
  t->add_failure(ThrottleKind::Ip, "10.0.0.0", t0 + 20s);  // 10.0.0.1 is now the oldest
  t->add_failure(ThrottleKind::Ip, "10.9.9.9", t0 + 21s);
  CHECK(t->count(ThrottleKind::Ip, "10.9.9.9", t0 + 21s).count == 1);
  CHECK(t->count(ThrottleKind::Ip, "10.0.0.1", t0 + 21s).count == 0);
  CHECK(t->count(ThrottleKind::Ip, "10.0.0.0", t0 + 21s).count == 2);
  CHECK(t->count(ThrottleKind::Ip, "10.0.0.2", t0 + 21s).count == 1);
  CHECK(t->tracked(ThrottleKind::Ip, t0 + 21s) == ThrottleTable::kWays);
  // An expired slot is reused before a live one is evicted.
  t->add_failure(ThrottleKind::Ip, "10.8.8.8", t0 + 65s);  // 10.0.0.2..7 expired by now
  CHECK(t->count(ThrottleKind::Ip, "10.9.9.9", t0 + 65s).count == 1);
  CHECK(t->count(ThrottleKind::Ip, "10.0.0.0", t0 + 65s).count == 1);
}

TEST_CASE("ThrottleTable: one memfd table, two processes counting at once", "[auth][throttle_table]") {
  Fd fd{ThrottleTable::create_memfd(small(1000))};
  // Sealed: nobody can shrink it under the others.
  CHECK(::ftruncate(fd.fd, 4096) != 0);
  CHECK((::fcntl(fd.fd, F_GETFD) & FD_CLOEXEC) != 0);
  auto parent = ThrottleTable::map_fd(fd.fd);
  CHECK(parent->shared());
  constexpr int kEach = 3000;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto child = ThrottleTable::map_fd(fd.fd);  // as a daemon maps its inherited fd
    for (int i = 0; i < kEach; ++i) {
      child->add_failure(ThrottleKind::Account, "carol@example.test", t0 + 1s);
      child->count_failure(AuthService::Imap);
    }
    ::_exit(0);
  }
  for (int i = 0; i < kEach; ++i) {
    parent->add_failure(ThrottleKind::Account, "carol@example.test", t0 + 1s);
    parent->count_failure(AuthService::Smtp);
  }
  REQUIRE(wait_child(pid) == 0);
  CHECK(parent->count(ThrottleKind::Account, "carol@example.test", t0 + 2s).count == 2 * kEach);
  CHECK(parent->failures(AuthService::Smtp) == kEach);
  CHECK(parent->failures(AuthService::Imap) == kEach);
  CHECK(parent->failures(AuthService::Web) == 0);
  // A second mapping in this process sees the same table.
  auto again = ThrottleTable::map_fd(fd.fd);
  CHECK(again->count(ThrottleKind::Account, "carol@example.test", t0 + 2s).count == 2 * kEach);
}

TEST_CASE("ThrottleTable: a process killed -9 holding a lock does not wedge the others",
          "[auth][throttle_table]") {
  Fd fd{ThrottleTable::create_memfd(small(1000))};
  auto table = ThrottleTable::map_fd(fd.fd);
  table->add_failure(ThrottleKind::Ip, "198.51.100.7", t0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto child = ThrottleTable::map_fd(fd.fd);
    child->abandon_lock_for_test(ThrottleKind::Ip, "198.51.100.7");
    ::raise(SIGKILL);
    ::_exit(3);
  }
  REQUIRE(wait_child(pid) == -1);  // killed by the signal
  // Without a robust mutex these would block for ever (ctest's timeout would fail it).
  table->add_failure(ThrottleKind::Ip, "198.51.100.7", t0 + 1s);
  CHECK(table->count(ThrottleKind::Ip, "198.51.100.7", t0 + 2s).count == 2);
  table->add_failure(ThrottleKind::Ip, "198.51.100.7", t0 + 2s);
  CHECK(table->count(ThrottleKind::Ip, "198.51.100.7", t0 + 2s).count == 3);
}

TEST_CASE("ThrottleTable: map_fd refuses what is not a table", "[auth][throttle_table]") {
  Fd other{::memfd_create("not-a-table", MFD_CLOEXEC)};
  REQUIRE(::ftruncate(other.fd, static_cast<off_t>(ThrottleTable::bytes_for(small(100)))) == 0);
  CHECK_THROWS_AS(ThrottleTable::map_fd(other.fd), std::runtime_error);
  Fd empty{::memfd_create("empty", MFD_CLOEXEC)};
  CHECK_THROWS_AS(ThrottleTable::map_fd(empty.fd), std::runtime_error);
  // Started alone (no TERN_THROTTLE_FD): no inherited table.
  if (!std::getenv(kThrottleFdEnv)) CHECK(ThrottleTable::inherited() == nullptr);
}

TEST_CASE("ThrottleTable: garbage in the slots is read without harm", "[auth][throttle_table]") {
  // A daemon killed mid-write (or anything else) can leave any bytes in a slot.
  const auto g = small(64);
  Fd fd{ThrottleTable::create_memfd(g)};
  const std::size_t size = ThrottleTable::bytes_for(g);
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  REQUIRE(mem != MAP_FAILED);
  auto table = ThrottleTable::map_fd(fd.fd);
  const std::size_t slots_at = size - 2 * table->capacity(ThrottleKind::Ip) * 144;
  auto* bytes = static_cast<unsigned char*>(mem);
  for (std::size_t i = slots_at; i < size; ++i) bytes[i] = static_cast<unsigned char>(i * 2654435761u >> 13);
  for (int i = 0; i < 200; ++i) {
    const std::string k = "k" + std::to_string(i);
    (void)table->count(ThrottleKind::Account, k, t0, 5);
    table->add_failure(ThrottleKind::Account, k, t0);
  }
  CHECK(table->count(ThrottleKind::Account, "k199", t0).count == 1);
  CHECK(table->tracked(ThrottleKind::Account, t0) <= table->capacity(ThrottleKind::Account));
  ::munmap(mem, size);
}

TEST_CASE("Throttle: two daemons on one shared table count against one limit", "[auth][throttle_table]") {
  Fd fd{ThrottleTable::create_memfd(small(1000))};
  TimePoint now = t0;
  Clock clock = [&] { return now; };
  ThrottleConfig cfg;
  cfg.ip_failures = 5;
  cfg.account_failures = 3;
  Throttle smtp(cfg, clock, ThrottleTable::map_fd(fd.fd));
  Throttle pop3(cfg, clock, ThrottleTable::map_fd(fd.fd));
  Throttle alone(cfg, clock);  // a daemon started without tern counts by itself
  smtp.record_failure("203.0.113.1", "dave@example.test");
  pop3.record_failure("203.0.113.2", " Dave@Example.test.");
  now += 1s;
  CHECK_FALSE(smtp.check("203.0.113.3", "dave@example.test").refuse);
  smtp.record_failure("203.0.113.3", "dave@example.test");
  AuthDecision d = pop3.check("198.51.100.1", "dave@example.test");
  CHECK(d.refuse);
  CHECK(d.retry_after == 59s);
  CHECK_FALSE(alone.check("198.51.100.1", "dave@example.test").refuse);
  // Per-IP counts are shared too, IPv6 per /64.
  for (int i = 0; i < 3; ++i) smtp.record_failure("2001:db8:5:6::" + std::to_string(i + 1), "");
  for (int i = 0; i < 2; ++i) pop3.record_failure("2001:db8:5:6:ffff::" + std::to_string(i + 1), "");
  CHECK(pop3.check("2001:db8:5:6:abcd::1", "").refuse);
  CHECK_FALSE(pop3.check("2001:db8:5:7::1", "").refuse);
  CHECK(smtp.ip_failures("2001:db8:5:6::99") == 5);
  // A success (on any daemon) resets the account for all.
  pop3.record_success("198.51.100.1", "dave@example.test");
  CHECK(smtp.account_failures("dave@example.test") == 0);
}
