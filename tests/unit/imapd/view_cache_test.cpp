// ViewCache (view_cache.hpp): SELECT of a cached mailbox is the snapshot plus what changed
// since, and must give exactly what a load from the store gives, whatever other sessions
// did in between (flags, keywords, expunges, deliveries, copies, \Recent claims).
#include <random>

#include <catch2/catch.hpp>

#include "../store/store_fixture.hpp"
#include "mailbox_view.hpp"
#include "view_cache.hpp"

using namespace tern;
using namespace tern::store;
using tern::store::test::Fixture;

namespace {

// Every field a client can see, message by message, and the mailbox's counters.
void require_same(const imapd::MailboxView& a, const imapd::MailboxView& b) {
  REQUIRE(a.exists() == b.exists());
  for (std::size_t i = 0; i < a.msgs.size(); ++i) {
    INFO("message " << i + 1);
    const auto &x = a.msgs[i], &y = b.msgs[i];
    REQUIRE(x.uid == y.uid);
    CHECK(x.flags == y.flags);
    CHECK(x.modseq == y.modseq);
    CHECK(x.size == y.size);
    CHECK(x.internal_date == y.internal_date);
    CHECK(x.blob == y.blob);
    CHECK(x.recent == y.recent);
    CHECK(x.expunged == y.expunged);
    CHECK(a.keywords_of(x) == b.keywords_of(y));
  }
  CHECK(a.keywords == b.keywords);
  CHECK(a.flags_responses() == b.flags_responses());
  CHECK(a.highestmodseq == b.highestmodseq);
  CHECK(a.uidnext == b.uidnext);
  CHECK(a.recent_count() == b.recent_count());
  CHECK(a.info.uidvalidity == b.info.uidvalidity);
  CHECK(a.info.first_recent_uid == b.info.first_recent_uid);
  CHECK(a.info.messages == b.info.messages);
}

void fill(Fixture& f, int n) {
  for (int i = 0; i < n; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
}

}  // namespace

TEST_CASE("ViewCache: a second SELECT of an unchanged mailbox is served from the snapshot", "[imapd][view_cache]") {
  Fixture f;
  MailboxId mb = f.inbox(f.alice);
  fill(f, 40);
  imapd::ViewCache cache(1 << 20, 10);
  imapd::MailboxView a, b, plain;
  REQUIRE(a.load(*f.store, *f.store->get_mailbox(mb), &cache));
  CHECK(cache.stats().misses == 1);
  CHECK(cache.stats().entries == 1);
  REQUIRE(b.load(*f.store, *f.store->get_mailbox(mb), &cache));
  CHECK(cache.stats().hits == 1);
  REQUIRE(plain.load(*f.store, *f.store->get_mailbox(mb)));
  require_same(b, plain);

  // Too small to cache: never kept.
  imapd::ViewCache big_only(1 << 20, 41);
  REQUIRE(a.load(*f.store, *f.store->get_mailbox(mb), &big_only));
  CHECK(big_only.stats().entries == 0);
}

TEST_CASE("ViewCache: snapshot plus changes equals a load from the store, after what other sessions did",
          "[imapd][view_cache]") {
  Fixture f;
  MailboxId mb = f.inbox(f.alice);
  auto other = f.store->create_mailbox(f.alice, "Other");
  REQUIRE(other);
  fill(f, 60);
  imapd::ViewCache cache(1 << 20, 1);
  std::mt19937 rng(17);
  auto pick = [&](Uid max) { return static_cast<Uid>(rng() % max + 1); };
  const std::vector<std::string> kws = {"$Work", "Later", "$Junk", "later"};  // "later": case of "Later"
  for (int round = 0; round < 60; ++round) {
    INFO("round " << round);
    auto info = f.store->get_mailbox(mb);
    REQUIRE(info);
    const Uid top = info->uidnext;
    // Another session's changes.
    switch (rng() % 6) {
      case 0: case 1: {
        FlagUpdate up;
        up.op = static_cast<FlagUpdate::Op>(rng() % 3);
        up.flags = static_cast<std::uint32_t>(rng() % 32);
        if (rng() % 2) up.keywords = {kws[rng() % kws.size()]};
        Uid u = pick(top);
        REQUIRE(f.store->set_flags(mb, UidSet{{u, u + static_cast<Uid>(rng() % 20)}}, up));
        break;
      }
      case 2: {
        Uid u = pick(top);
        REQUIRE(f.store->expunge(mb, UidSet{{u, u + static_cast<Uid>(rng() % 5)}}, false));
        break;
      }
      case 3:
        fill(f, 1 + static_cast<int>(rng() % 3));
        break;
      case 4:  // into INBOX from elsewhere, and some away
        f.deliver(f.alice, "Subject: o\r\n\r\nx\r\n", "Other");
        REQUIRE(f.store->copy_messages(*other, UidSet{UidRange{}}, mb));
        break;
      case 5: {
        Uid u = pick(top);
        REQUIRE(f.store->move_messages(mb, UidSet{{u, u + 2}}, *other));
        break;
      }
    }
    info = f.store->get_mailbox(mb);
    REQUIRE(info);
    const bool examine = rng() % 3 == 0;
    imapd::MailboxView cached, fresh;
    cached.readonly = fresh.readonly = examine;
    if (!examine && rng() % 2) {
      // SELECT claims \Recent first (cmd_select): both views get the same claim.
      auto c = f.store->claim_recent(mb);
      REQUIRE(c);
      cached.add_claim(c->first, c->end);
      fresh.add_claim(c->first, c->end);
    }
    const auto hits = cache.stats().hits;
    REQUIRE(cached.load(*f.store, *info, &cache));
    if (round > 0) CHECK(cache.stats().hits == hits + 1);
    REQUIRE(fresh.load(*f.store, *f.store->get_mailbox(mb)));
    require_same(cached, fresh);
    // The session's view syncs on from there as a fresh one does.
    f.deliver(f.alice, "Subject: after\r\n\r\nx\r\n");
    std::string o1, o2;
    REQUIRE(cached.sync(*f.store, o1, {}));
    REQUIRE(fresh.sync(*f.store, o2, {}));
    CHECK(o1 == o2);
  }
  f.require_clean();
}

TEST_CASE("ViewCache: a snapshot of another UIDVALIDITY is not used; the byte cap evicts the least recent",
          "[imapd][view_cache]") {
  Fixture f;
  MailboxId mb = f.inbox(f.alice);
  fill(f, 12);
  imapd::ViewCache cache(1 << 20, 1);
  auto stale = std::make_shared<imapd::ViewSnapshot>();
  stale->mailbox = mb;
  stale->uidvalidity = f.store->get_mailbox(mb)->uidvalidity + 1;
  stale->highestmodseq = f.store->get_mailbox(mb)->highestmodseq;
  stale->msgs.resize(3);  // nothing like the mailbox
  stale->kwlists.resize(1);
  stale->bytes = 100;
  cache.put(stale);
  imapd::MailboxView v, fresh;
  REQUIRE(v.load(*f.store, *f.store->get_mailbox(mb), &cache));
  REQUIRE(fresh.load(*f.store, *f.store->get_mailbox(mb)));
  require_same(v, fresh);
  CHECK(cache.find(mb)->uidvalidity == fresh.info.uidvalidity);  // replaced

  imapd::ViewCache small(1000, 1);
  for (MailboxId id = 1; id <= 5; ++id) {
    auto s = std::make_shared<imapd::ViewSnapshot>();
    s->mailbox = id;
    s->msgs.resize(1);
    s->bytes = 300;
    small.put(s);
    if (id == 2) CHECK(small.find(1));  // 1 is now more recent than 2
  }
  auto st = small.stats();
  CHECK(st.entries == 3);
  CHECK(st.bytes == 900);
  CHECK(st.evictions == 2);
  CHECK(small.find(5));
  CHECK(small.find(4));
  CHECK_FALSE(small.find(2));
  CHECK_FALSE(small.find(1));  // used after 2, but before 3, 4, 5
}
