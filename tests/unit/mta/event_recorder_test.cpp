// EventRecorder (mta/event_recorder.hpp) against the real LMDB store in a temp dir:
// many refusals make one commit, the per-client cap with its summary event, IPv6 per
// /64, the pending bound, stop() writing what is left.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "event_recorder.hpp"

using namespace tern;
using mta::EventRecorder;
namespace fs = std::filesystem;

namespace {

struct TempStore {
  fs::path dir;
  store::StorePtr store;
  TempStore() {
    char tmpl[] = "/tmp/tern-events-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto s = store::Store::open(dir);
    REQUIRE(s);
    store = std::move(*s);
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<store::DeliveryEvent> events() {
    auto r = store->recent_events(100000);
    REQUIRE(r);
    return *r;
  }
};

store::DeliveryEvent refusal(int i) {
  store::DeliveryEvent e;
  e.message_id = "S" + std::to_string(i);
  e.sender = "x@remote.test";
  e.recipient = "nobody" + std::to_string(i) + "@example.test";
  e.action = store::EventAction::rejected;
  e.detail = "unknown-user: 550 5.1.1 No such user here";
  return e;
}

EventRecorder::Options slow_flush() {
  EventRecorder::Options o;
  o.flush_interval = std::chrono::hours(1);  // only flush()/stop() write
  return o;
}

}  // namespace

TEST_CASE("event recorder: many refusals, one commit, the store's format", "[mta][events]") {
  TempStore t;
  auto o = slow_flush();
  o.per_ip = 0;
  EventRecorder rec(*t.store, o);
  for (int i = 0; i < 500; ++i) rec.record("192.0.2." + std::to_string(i % 50), refusal(i));
  CHECK(t.events().empty());  // nothing written by record()
  REQUIRE(rec.flush());
  auto s = rec.stats();
  CHECK(s.commits == 1);
  CHECK(s.written == 500);
  auto ev = t.events();
  REQUIRE(ev.size() == 500);
  CHECK(ev.front().action == store::EventAction::rejected);
  CHECK(ev.front().time > 0);
  CHECK(ev.front().detail == "unknown-user: 550 5.1.1 No such user here");
  CHECK(ev.front().sender == "x@remote.test");
  REQUIRE(rec.flush());  // nothing pending: no commit
  CHECK(rec.stats().commits == 1);
}

TEST_CASE("event recorder: capped per client, the rest in one summary", "[mta][events]") {
  TempStore t;
  auto o = slow_flush();
  o.per_ip = 10;
  {
    EventRecorder rec(*t.store, o);
    for (int i = 0; i < 250; ++i) rec.record("198.51.100.7", refusal(i));
    // IPv6 clients of one /64 share a counter; another /64 has its own.
    for (int i = 0; i < 30; ++i) rec.record("2001:db8:1:2::" + std::to_string(i + 1), refusal(1000 + i));
    for (int i = 0; i < 5; ++i) rec.record("2001:db8:9:9::1", refusal(2000 + i));
    auto s = rec.stats();
    CHECK(s.recorded == 10 + 10 + 5);
    CHECK(s.suppressed == 240 + 20);
    rec.stop();  // writes the pending events and the summaries
    CHECK(rec.stats().commits == 1);
  }
  auto ev = t.events();
  CHECK(ev.size() == 25 + 2);
  int summaries = 0;
  for (const auto& e : ev) {
    if (e.message_id != "-") continue;
    ++summaries;
    if (e.detail.find("198.51.100.7") != std::string::npos)
      CHECK(e.detail.rfind("240 more refusals from 198.51.100.7 not stored", 0) == 0);
    else
      CHECK(e.detail.rfind("20 more refusals from 2001:db8:1:2::/64 not stored", 0) == 0);
  }
  CHECK(summaries == 2);
}

TEST_CASE("event recorder: a new window starts a new count", "[mta][events]") {
  TempStore t;
  auto o = slow_flush();
  o.per_ip = 3;
  o.window = std::chrono::seconds(1);
  EventRecorder rec(*t.store, o);
  for (int i = 0; i < 5; ++i) rec.record("192.0.2.1", refusal(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (int i = 5; i < 10; ++i) rec.record("192.0.2.1", refusal(i));
  REQUIRE(rec.flush());
  auto s = rec.stats();
  CHECK(s.recorded == 6);
  CHECK(s.suppressed == 4);
  auto ev = t.events();
  int summaries = 0;
  for (const auto& e : ev)
    if (e.message_id == "-") ++summaries;
  CHECK(summaries == 1);  // the first window's; the second one's comes at its end
  CHECK(ev.size() == 7);
}

TEST_CASE("event recorder: bounded while the store lags, periodic flush", "[mta][events]") {
  TempStore t;
  auto o = slow_flush();
  o.per_ip = 0;
  o.max_pending = 100;
  {
    EventRecorder rec(*t.store, o);
    for (int i = 0; i < 150; ++i) rec.record("192.0.2.1", refusal(i));
    CHECK(rec.stats().dropped == 50);
    rec.stop();
    rec.record("192.0.2.1", refusal(999));  // after stop: counted, not kept
    CHECK(rec.stats().dropped == 51);
  }
  auto ev = t.events();
  CHECK(ev.size() == 101);
  bool told = false;
  for (const auto& e : ev) told |= e.detail.rfind("50 refusal events not stored", 0) == 0;
  CHECK(told);

  // The writer flushes on its own every flush_interval.
  TempStore t2;
  EventRecorder::Options fast;
  fast.flush_interval = std::chrono::milliseconds(50);
  EventRecorder rec(*t2.store, fast);
  rec.record("192.0.2.1", refusal(1));
  for (int i = 0; i < 100 && t2.events().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(t2.events().size() == 1);
}
