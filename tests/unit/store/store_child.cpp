// Helper process for store_process_test.cpp (built as `store_test_child`, not a test):
//   store_test_child deliver DATA_DIR COUNT TAG   deliver COUNT (0 = forever) messages
//                                                 "TAG-i" to a@example.test's INBOX; print
//                                                 "i uid" after each acknowledged delivery
//   store_test_child flag DATA_DIR COUNT TAG      deliver, then flag \Seen the new message;
//                                                 print "uid modseq" after each flag commit
//   store_test_child wait DATA_DIR TIMEOUT_MS     print "ready MODSEQ", wait for a change of
//                                                 INBOX, print "changed MODSEQ"
//   store_test_child claim DATA_DIR MILLIS        claim INBOX's \Recent messages over and
//                                                 over for MILLIS ms; print "first end"
//                                                 for each non-empty claim
//   store_test_child dequeue DATA_DIR -           remove the queue's entries one per
//                                                 update_queue (duplicate-safe) commit;
//                                                 print "id" after each; then wait to be
//                                                 killed
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tern/store/store.hpp"

using namespace tern::store;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: store_test_child deliver|flag|wait DATA_DIR ...\n");
    return 64;
  }
  std::string mode = argv[1];
  auto opened = Store::open(argv[2]);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message().c_str());
    return 1;
  }
  Store& s = **opened;
  auto acct = s.get_account("a@example.test");
  if (!acct) return 2;
  auto inbox = s.get_mailbox(acct->id, "INBOX");
  if (!inbox) return 3;
  if (mode == "wait") {
    std::printf("ready %llu\n", static_cast<unsigned long long>(inbox->highestmodseq));
    std::fflush(stdout);
    auto r = s.wait_for_change(inbox->id, inbox->highestmodseq, std::chrono::milliseconds(std::atoi(argv[3])));
    if (!r) return 4;
    std::printf("changed %llu\n", static_cast<unsigned long long>(*r));
    std::fflush(stdout);
    return 0;
  }
  if (mode == "claim") {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::atoi(argv[3]));
    while (std::chrono::steady_clock::now() < until) {
      auto c = s.claim_recent(inbox->id);
      if (!c) return 7;
      if (c->first < c->end) {
        std::printf("%u %u\n", c->first, c->end);
        std::fflush(stdout);
      }
      ::usleep(500);
    }
    return 0;
  }
  if (mode == "dequeue") {
    auto q = s.list_queue();
    if (!q) return 8;
    for (const auto& e : *q) {
      DeliveryEvent ev;
      ev.message_id = "Q" + std::to_string(e.id);
      ev.recipient = e.recipient;
      ev.action = EventAction::delivered;
      if (!s.update_queue({{e.id, QueueChange::Op::remove, 0, "", 0}}, {ev})) return 9;
      std::printf("%llu\n", static_cast<unsigned long long>(e.id));
      std::fflush(stdout);
    }
    for (;;) ::pause();  // killed with SIGKILL by the test: no clean close of the store
  }
  if (argc < 5) return 64;
  long count = std::atol(argv[3]);
  std::string tag = argv[4];
  for (long i = 0; count == 0 || i < count; ++i) {
    DeliveryRequest r;
    r.body = tag + "-" + std::to_string(i);
    r.targets.push_back(DeliveryTarget{acct->id});
    auto res = s.deliver(r);
    if (!res || res->targets[0].error) {
      std::fprintf(stderr, "deliver failed\n");
      return 5;
    }
    Uid uid = res->targets[0].uid;
    if (mode == "deliver") {
      std::printf("%ld %u\n", i, uid);
    } else {
      FlagUpdate up;
      up.flags = kSeen;
      auto fr = s.set_flags(inbox->id, {{uid, uid}}, up);
      if (!fr || fr->changed.size() != 1) return 6;
      std::printf("%u %llu\n", uid, static_cast<unsigned long long>(fr->changed[0].modseq));
    }
    std::fflush(stdout);
  }
  return 0;
}
