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

TEST_CASE("MailboxView: load, then sync reports what another session changed, in order", "[imapd][view]") {
  Fixture f;
  MailboxId mb = f.inbox(f.alice);
  for (int i = 0; i < 5; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  auto info = f.store->get_mailbox(mb);
  REQUIRE(info);
  imapd::MailboxView v;
  v.track_recent = false;
  REQUIRE(v.load(*f.store, *info));
  REQUIRE(v.exists() == 5);
  CHECK(v.highestmodseq == f.store->get_mailbox(mb)->highestmodseq);

  std::string out;
  REQUIRE(v.sync(*f.store, out, {}));
  CHECK(out.empty());  // nothing changed: nothing said

  // Another session: flags uid 2 (with a new keyword), expunges 3, appends 6 and 7,
  // expunges 7 (never seen here) and flags 5 then expunges it.
  FlagUpdate up;
  up.flags = kFlagged;
  up.keywords = {"$Work"};
  REQUIRE(f.store->set_flags(mb, UidSet{{2, 2}, {5, 5}}, up));
  REQUIRE(f.store->expunge(mb, UidSet{{3, 3}}, false));
  f.deliver(f.alice, "Subject: six\r\n\r\nbody\r\n");
  f.deliver(f.alice, "Subject: seven\r\n\r\nbody\r\n");
  REQUIRE(f.store->expunge(mb, UidSet{{7, 7}, {5, 5}}, false));

  // During a FETCH (no expunges allowed): flag change and EXISTS, expunged ones kept.
  imapd::SyncOptions no_exp;
  no_exp.allow_expunge = false;
  out.clear();
  REQUIRE(v.sync(*f.store, out, no_exp));
  CHECK(out ==
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n"
        "* 2 FETCH (UID 2 FLAGS (\\Flagged $Work))\r\n"
        "* 6 EXISTS\r\n");
  CHECK(v.msgs[2].expunged);
  CHECK(v.msgs[4].expunged);
  CHECK(v.keywords_of(v.msgs[1]) == "$Work");

  // At the next command boundary the expunges go out, highest number first.
  out.clear();
  REQUIRE(v.sync(*f.store, out, {}));
  CHECK(out == "* 5 EXPUNGE\r\n* 3 EXPUNGE\r\n");
  REQUIRE(v.exists() == 4);
  CHECK(v.msgs[0].uid == 1);
  CHECK(v.msgs[1].uid == 2);
  CHECK(v.msgs[2].uid == 4);
  CHECK(v.msgs[3].uid == 6);
  CHECK(v.uidnext == 8);

  // QRESYNC: VANISHED, and MODSEQ on FETCH.
  REQUIRE(f.store->set_flags(mb, UidSet{{1, 1}}, up));
  REQUIRE(f.store->expunge(mb, UidSet{{4, 4}}, false));
  imapd::SyncOptions qr;
  qr.condstore = qr.qresync = true;
  out.clear();
  REQUIRE(v.sync(*f.store, out, qr));
  ModSeq m1 = f.store->get_message(mb, 1)->modseq;
  CHECK(out == "* 1 FETCH (UID 1 FLAGS (\\Flagged $Work) MODSEQ (" + std::to_string(m1) + "))\r\n* VANISHED 4\r\n");
  CHECK(v.highestmodseq == f.store->get_mailbox(mb)->highestmodseq);

  // The view equals a fresh load.
  imapd::MailboxView fresh;
  fresh.track_recent = false;
  REQUIRE(fresh.load(*f.store, *f.store->get_mailbox(mb)));
  REQUIRE(fresh.exists() == v.exists());
  for (std::size_t i = 0; i < v.msgs.size(); ++i) {
    CHECK(fresh.msgs[i].uid == v.msgs[i].uid);
    CHECK(fresh.msgs[i].flags == v.msgs[i].flags);
    CHECK(fresh.msgs[i].modseq == v.msgs[i].modseq);
    CHECK(fresh.keywords_of(fresh.msgs[i]) == v.keywords_of(v.msgs[i]));
  }

  // A deleted mailbox: no_such_mailbox.
  auto other = f.store->create_mailbox(f.alice, "Gone");
  REQUIRE(other);
  imapd::MailboxView g;
  REQUIRE(g.load(*f.store, *f.store->get_mailbox(*other)));
  REQUIRE(f.store->delete_mailbox(f.alice, "Gone"));
  CHECK(g.sync(*f.store, out, {}).error() == Errc::no_such_mailbox);
}

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
