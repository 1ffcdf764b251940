// Second process of change_notifier_test.cpp (built as net_test_notify_child):
//   net_test_notify_child DATA_DIR N TIMEOUT_MS
// opens the store, waits on a@example.test's INBOX with N coroutines on one notifier,
// prints "ready INOTIFY_INSTANCES", then after all are woken (or the timeout)
// "woken COUNT BAD LAST_WAKE_MONOTONIC_NS".
#include <cstdio>
#include <cstdlib>

#include "notify_harness.hpp"

int main(int argc, char** argv) {
  if (argc != 4) return 64;
  auto opened = tern::store::Store::open(argv[1]);
  if (!opened) return 1;
  tern::store::Store& s = **opened;
  auto acct = s.get_account("a@example.test");
  if (!acct) return 1;
  auto inbox = s.get_mailbox(acct->id, "INBOX");
  if (!inbox) return 1;
  std::size_t n = static_cast<std::size_t>(std::atoi(argv[2]));
  tern::net::test::NotifyHarness h(s);
  h.spawn(n, inbox->id, inbox->highestmodseq);
  h.wait_for([&] { return h.notifier.waiters() == n; }, std::chrono::seconds(10));
  std::printf("ready %d\n", tern::net::test::inotify_instances());
  std::fflush(stdout);
  h.wait_for([&] { return h.woken == n; }, std::chrono::milliseconds(std::atoi(argv[3])));
  std::printf("woken %zu %zu %lld\n", h.woken.load(), h.bad.load(), static_cast<long long>(h.last_wake_ns.load()));
  std::fflush(stdout);
  return 0;
}
