// MailboxView against a real store: load, incremental sync, and a hidden timing probe
// for a 100,000-message mailbox ("[.perf]", run by hand: imapd_tests "[.perf]").
#include <chrono>
#include <cstdio>

#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "mailbox_view.hpp"

using namespace tern;
using namespace tern::store;
using tern::store::test::Fixture;

namespace {

// Doubles the mailbox with copies (one txn each) until it holds at least n messages.
void fill(Fixture& f, MailboxId mb, std::size_t n) {
  f.deliver(f.alice, "Subject: x\r\n\r\nbody\r\n");
  for (;;) {
    auto info = f.store->get_mailbox(mb);
    REQUIRE(info);
    if (info->messages >= n) break;
    REQUIRE(f.store->copy_messages(mb, UidSet{UidRange{}}, mb));
  }
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("timing probe: load and sync a 131072-message view", "[.perf]") {
  Fixture f;
  MailboxId mb = f.inbox(f.alice);
  fill(f, mb, 100000);
  auto info = f.store->get_mailbox(mb);
  REQUIRE(info);
  for (int round = 0; round < 3; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t n = 0;
    REQUIRE(f.store->for_each_message(mb, {}, [&](const MessageMeta&) { return ++n, true; }));
    double raw = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    imapd::MailboxView v;
    REQUIRE(v.load(*f.store, *info));
    double load = ms_since(t0);
    f.deliver(f.alice, "Subject: y\r\n\r\nnew\r\n");
    std::string out;
    t0 = std::chrono::steady_clock::now();
    REQUIRE(v.sync(*f.store, out, {}));
    double sync = ms_since(t0);
    std::printf("messages %zu: for_each_message %.2f ms, load %.2f ms, sync after one delivery %.2f ms\n", n, raw,
                load, sync);
  }
}
