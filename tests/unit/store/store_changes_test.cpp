// Store::changes_since (the MODSEQ index, schema 4) and Store::read_mailbox: what an
// IMAP session's view reads instead of the whole mailbox; the index kept exact across
// append, flag change, expunge, copy, move and rename of INBOX; migration of a schema-3
// store; check() finding and repairing a damaged index.
#include <lmdb.h>

#include <map>
#include <random>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;

namespace {

std::vector<Uid> uids_of(const std::vector<MessageRecord>& v) {
  std::vector<Uid> out;
  for (const auto& m : v) out.push_back(m.uid);
  return out;
}

// The whole mailbox as (uid → record), by iterating it.
std::map<Uid, MessageRecord> scan(Store& s, MailboxId mb) {
  std::map<Uid, MessageRecord> out;
  REQUIRE(s.for_each_message(mb, {}, [&](const MessageMeta& m) {
    out[m.uid] = MessageRecord{m.uid, m.modseq, m.flags, std::string(m.keywords), m.size, m.internal_date, m.blob};
    return true;
  }));
  return out;
}

// Raw LMDB access behind the store's back (as an older tern, or damage, left it).
struct RawEnv {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  explicit RawEnv(const std::filesystem::path& data_dir) {
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, (data_dir / "store").c_str(), 0, 0660) == 0);
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  }
  MDB_dbi dbi(const char* name) {
    MDB_dbi d;
    REQUIRE(mdb_dbi_open(txn, name, 0, &d) == 0);
    return d;
  }
  void commit() {
    REQUIRE(mdb_txn_commit(txn) == 0);
    txn = nullptr;
  }
  ~RawEnv() {
    if (txn) mdb_txn_abort(txn);
    mdb_env_close(env);
  }
};

}  // namespace

TEST_CASE("changes_since: appends, flag changes and expunges since a MODSEQ, nothing else", "[store][changes]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  for (int i = 0; i < 5; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  auto base = f.store->get_mailbox(inbox);
  REQUIRE(base);
  ModSeq since = base->highestmodseq;

  auto none = f.store->changes_since(inbox, since);
  REQUIRE(none);
  CHECK(none->changed.empty());
  CHECK(none->vanished.empty());
  CHECK(none->info.highestmodseq == since);

  // Everything from the start: every message, ascending.
  auto all = f.store->changes_since(inbox, 0);
  REQUIRE(all);
  CHECK(uids_of(all->changed) == std::vector<Uid>{1, 2, 3, 4, 5});

  FlagUpdate seen;
  seen.flags = kSeen;
  REQUIRE(f.store->set_flags(inbox, UidSet{{4, 4}, {2, 2}}, seen));
  f.deliver(f.alice, "Subject: new\r\n\r\nbody\r\n");  // uid 6
  FlagUpdate del;
  del.flags = kDeleted;
  REQUIRE(f.store->set_flags(inbox, UidSet{{3, 3}, {6, 6}}, del));
  REQUIRE(f.store->expunge(inbox, UidSet{{3, 3}}, true));
  f.deliver(f.alice, "Subject: gone soon\r\n\r\nbody\r\n");  // uid 7
  REQUIRE(f.store->expunge(inbox, UidSet{{7, 7}}, false));

  auto ch = f.store->changes_since(inbox, since);
  REQUIRE(ch);
  CHECK(uids_of(ch->changed) == std::vector<Uid>{2, 4, 6});
  CHECK(ch->vanished == std::vector<Uid>{3, 7});
  for (const auto& m : ch->changed) CHECK(m.modseq > since);
  CHECK(ch->changed[0].flags == kSeen);
  CHECK(ch->changed[2].flags == kDeleted);
  auto now = f.store->get_mailbox(inbox);
  REQUIRE(now);
  CHECK(ch->info.highestmodseq == now->highestmodseq);
  CHECK(ch->info.uidnext == 8);
  CHECK(ch->info.messages == 5);
  CHECK(ch->info.unseen == 3);  // 1, 5, 6

  // From the last one: nothing.
  auto after = f.store->changes_since(inbox, ch->info.highestmodseq);
  REQUIRE(after);
  CHECK(after->changed.empty());
  CHECK(after->vanished.empty());

  // A flag change that changes nothing (already \Seen) gets no new MODSEQ.
  REQUIRE(f.store->set_flags(inbox, UidSet{{2, 2}}, seen));
  CHECK(f.store->changes_since(inbox, ch->info.highestmodseq)->changed.empty());

  CHECK(f.store->changes_since(999999, 0).error() == Errc::no_such_mailbox);
  f.require_clean();
}

TEST_CASE("changes_since: copy and move in and out, rename of INBOX", "[store][changes]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  auto work = f.store->create_mailbox(f.alice, "Work");
  REQUIRE(work);
  for (int i = 0; i < 4; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  ModSeq in0 = f.store->get_mailbox(inbox)->highestmodseq;
  ModSeq w0 = f.store->get_mailbox(*work)->highestmodseq;
  REQUIRE(f.store->copy_messages(inbox, UidSet{{1, 1}}, *work));
  REQUIRE(f.store->move_messages(inbox, UidSet{{2, 3}}, *work));
  auto in = f.store->changes_since(inbox, in0);
  REQUIRE(in);
  CHECK(in->changed.empty());
  CHECK(in->vanished == std::vector<Uid>{2, 3});
  auto w = f.store->changes_since(*work, w0);
  REQUIRE(w);
  CHECK(uids_of(w->changed) == std::vector<Uid>{1, 2, 3});
  CHECK(w->vanished.empty());

  ModSeq in1 = in->info.highestmodseq;
  REQUIRE(f.store->rename_mailbox(f.alice, "INBOX", "Old"));
  auto after = f.store->changes_since(inbox, in1);
  REQUIRE(after);
  CHECK(after->vanished == std::vector<Uid>{1, 4});
  CHECK(after->info.messages == 0);
  auto old = f.store->get_mailbox(f.alice, "Old");
  REQUIRE(old);
  CHECK(uids_of(f.store->changes_since(old->id, 0)->changed) == std::vector<Uid>{1, 2});
  f.require_clean();
}

TEST_CASE("changes_since agrees with a full scan, and the counters stay exact, over random changes",
          "[store][changes]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  auto other = f.store->create_mailbox(f.alice, "Other");
  REQUIRE(other);
  std::mt19937 rng(17);
  std::map<Uid, MessageRecord> known = scan(*f.store, inbox);  // what a session knows
  ModSeq known_modseq = f.store->get_mailbox(inbox)->highestmodseq;
  for (int round = 0; round < 60; ++round) {
    int ops = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < ops; ++k) {
      Uid top = f.store->get_mailbox(inbox)->uidnext;
      Uid a = 1 + static_cast<Uid>(rng() % top), b = a + static_cast<Uid>(rng() % 3);
      switch (rng() % 6) {
        case 0:
        case 1: f.deliver(f.alice, "Subject: r" + std::to_string(round) + "\r\n\r\nx\r\n"); break;
        case 2: {
          FlagUpdate up;
          up.op = rng() % 2 ? FlagUpdate::Op::add : FlagUpdate::Op::remove;
          up.flags = rng() % 2 ? kSeen : kDeleted | kFlagged;
          if (rng() % 3 == 0) up.keywords = {"$Work"};
          REQUIRE(f.store->set_flags(inbox, UidSet{{a, b}}, up));
          break;
        }
        case 3: REQUIRE(f.store->expunge(inbox, UidSet{{a, b}}, rng() % 2 == 0)); break;
        case 4: REQUIRE(f.store->move_messages(inbox, UidSet{{a, a}}, *other)); break;
        case 5: REQUIRE(f.store->copy_messages(*other, UidSet{UidRange{}}, inbox)); break;
      }
    }
    auto ch = f.store->changes_since(inbox, known_modseq);
    REQUIRE(ch);
    Uid max_known = known.empty() ? 0 : known.rbegin()->first;
    for (Uid u : ch->vanished) known.erase(u);
    for (const auto& m : ch->changed) {
      CHECK(m.modseq > known_modseq);
      if (m.uid <= max_known) REQUIRE(known.count(m.uid) == 1);  // nothing old appears from nowhere
      known[m.uid] = m;
    }
    known_modseq = ch->info.highestmodseq;
    auto truth = scan(*f.store, inbox);
    REQUIRE(known.size() == truth.size());
    std::uint32_t unseen = 0;
    for (const auto& [uid, m] : truth) {
      REQUIRE(known.count(uid) == 1);
      CHECK(known[uid].flags == m.flags);
      CHECK(known[uid].keywords == m.keywords);
      CHECK(known[uid].modseq == m.modseq);
      unseen += (m.flags & kSeen) ? 0 : 1;
    }
    CHECK(ch->info.messages == truth.size());
    CHECK(ch->info.unseen == unseen);
    if (!truth.empty()) CHECK(ch->info.uidnext > truth.rbegin()->first);
  }
  f.require_clean();
}

TEST_CASE("read_mailbox: the messages and the mailbox from one read txn", "[store][changes]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  for (int i = 0; i < 3; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  std::vector<Uid> seen;
  ModSeq top = 0;
  auto info = f.store->read_mailbox(inbox, UidRange{2, 0xffffffffu}, [&](const MessageMeta& m) {
    seen.push_back(m.uid);
    top = std::max(top, m.modseq);
    return true;
  });
  REQUIRE(info);
  CHECK(seen == std::vector<Uid>{2, 3});
  CHECK(info->messages == 3);
  CHECK(info->uidnext == 4);
  CHECK(info->highestmodseq == top);
  CHECK(info->name == "INBOX");
  CHECK(f.store->read_mailbox(999999, {}, [](const MessageMeta&) { return true; }).error() ==
        Errc::no_such_mailbox);
}

TEST_CASE("a schema-3 store gets its MODSEQ index built on open", "[store][changes][migration]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  for (int i = 0; i < 6; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  FlagUpdate seen;
  seen.flags = kSeen;
  REQUIRE(f.store->set_flags(inbox, UidSet{{2, 3}}, seen));
  REQUIRE(f.store->expunge(inbox, UidSet{{5, 5}}, false));
  ModSeq mid = f.store->get_mailbox(inbox)->highestmodseq;
  auto before = f.store->changes_since(inbox, 0);
  REQUIRE(before);
  f.store.reset();
  {
    // What schema 3 wrote: version 3 and no by_modseq table.
    RawEnv raw(f.dir.path);
    unsigned char three[4] = {0, 0, 0, 3};
    MDB_val k{6, const_cast<char*>("schema")}, d{4, three};
    REQUIRE(mdb_put(raw.txn, raw.dbi("meta"), &k, &d, 0) == 0);
    REQUIRE(mdb_drop(raw.txn, raw.dbi("by_modseq"), 1) == 0);
    raw.commit();
  }
  {
    // Read-only, not migrated: changes_since still answers (by a scan).
    StoreOptions ro;
    ro.read_only = true;
    auto s = Store::open(f.dir.path, ro);
    REQUIRE(s);
    CHECK((*s)->stats()->schema_version == 3);
    auto ch = (*s)->changes_since(inbox, 0);
    REQUIRE(ch);
    CHECK(uids_of(ch->changed) == uids_of(before->changed));
  }
  auto s = Store::open(f.dir.path);
  REQUIRE(s);
  f.store = std::move(*s);
  CHECK(f.store->stats()->schema_version == kSchemaVersion);
  auto after = f.store->changes_since(inbox, 0);
  REQUIRE(after);
  CHECK(uids_of(after->changed) == std::vector<Uid>{1, 2, 3, 4, 6});
  CHECK(uids_of(after->changed) == uids_of(before->changed));
  CHECK(f.store->changes_since(inbox, mid)->changed.empty());
  // And it is maintained from then on.
  REQUIRE(f.store->set_flags(inbox, UidSet{{6, 6}}, seen));
  CHECK(uids_of(f.store->changes_since(inbox, mid)->changed) == std::vector<Uid>{6});
  f.require_clean();
}

TEST_CASE("check() finds and repairs a damaged MODSEQ index", "[store][changes][check]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  for (int i = 0; i < 3; ++i) f.deliver(f.alice, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  ModSeq m2 = f.store->get_message(inbox, 2)->modseq;
  f.store.reset();
  {
    RawEnv raw(f.dir.path);
    MDB_dbi idx = raw.dbi("by_modseq");
    auto key = [](std::uint64_t mb, std::uint64_t ms, std::uint32_t uid) {
      std::string k;
      for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(mb >> (8 * i)));
      for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(ms >> (8 * i)));
      for (int i = 3; i >= 0; --i) k.push_back(static_cast<char>(uid >> (8 * i)));
      return k;
    };
    std::string gone = key(inbox, m2, 2), stale = key(inbox, 999, 2);
    MDB_val k{gone.size(), gone.data()};
    REQUIRE(mdb_del(raw.txn, idx, &k, nullptr) == 0);
    MDB_val sk{stale.size(), stale.data()}, empty{0, nullptr};
    REQUIRE(mdb_put(raw.txn, idx, &sk, &empty, 0) == 0);
    raw.commit();
  }
  auto s = Store::open(f.dir.path);
  REQUIRE(s);
  f.store = std::move(*s);
  auto issues = f.store->check(false);
  REQUIRE(issues);
  REQUIRE(issues->size() == 2);
  auto fixed = f.store->check(true);
  REQUIRE(fixed);
  for (const auto& i : *fixed) CHECK(i.repaired);
  f.require_clean();
  CHECK(uids_of(f.store->changes_since(inbox, 0)->changed) == std::vector<Uid>{1, 2, 3});
}
