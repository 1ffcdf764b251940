// \Recent claims (Store::claim_recent) and subscriptions kept apart from mailboxes
// (schema 2, with the migration of a schema-1 store).
#include <lmdb.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;
using tern::store::test::TempDir;

TEST_CASE("claim_recent hands out each new UID once", "[store][recent]") {
  Fixture f;
  auto& s = *f.store;
  MailboxId inbox = f.inbox(f.alice);
  auto none = s.claim_recent(inbox);
  REQUIRE(none);
  CHECK(none->first == none->end);  // empty mailbox: nothing to claim

  for (int i = 0; i < 3; ++i) f.deliver(f.alice, "m" + std::to_string(i));
  CHECK(s.get_mailbox(inbox)->first_recent_uid == 1);
  auto c1 = s.claim_recent(inbox);
  REQUIRE(c1);
  CHECK(c1->first == 1);
  CHECK(c1->end == 4);
  CHECK(s.get_mailbox(inbox)->first_recent_uid == 4);
  auto again = s.claim_recent(inbox);
  REQUIRE(again);
  CHECK(again->first == again->end);

  f.deliver(f.alice, "m3");
  f.deliver(f.alice, "m4");
  auto c2 = s.claim_recent(inbox);
  REQUIRE(c2);
  CHECK(c2->first == 4);
  CHECK(c2->end == 6);

  // Expunges do not move the boundary; a copy into another mailbox is new there.
  REQUIRE(s.expunge(inbox, std::nullopt, false));
  auto mb = s.get_mailbox(inbox);
  CHECK(mb->first_recent_uid == 6);
  CHECK(mb->uidnext == 6);
  auto work = s.create_mailbox(f.alice, "Work", SpecialUse::none);
  REQUIRE(work);
  f.deliver(f.alice, "w0");
  REQUIRE(s.copy_messages(inbox, {{6, 6}}, *work));
  auto cw = s.claim_recent(*work);
  REQUIRE(cw);
  CHECK(cw->first == 1);
  CHECK(cw->end == 2);

  CHECK(s.claim_recent(999999).error() == Errc::no_such_mailbox);
  f.require_clean();
}

TEST_CASE("subscriptions outlive their mailbox and follow a rename", "[store][subscriptions]") {
  Fixture f;
  auto& s = *f.store;
  // add_account subscribes the default mailboxes.
  auto subs = s.list_subscriptions(f.alice);
  REQUIRE(subs);
  CHECK(*subs == std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"});

  REQUIRE(s.create_mailbox(f.alice, "Lists/tern", SpecialUse::none));
  REQUIRE(s.create_mailbox(f.alice, "Old", SpecialUse::none));
  CHECK(s.subscribe(f.alice, "Nope", true).error() == Errc::no_such_mailbox);
  REQUIRE(s.subscribe(f.alice, "Lists/tern", true));
  REQUIRE(s.subscribe(f.alice, "Old", true));
  CHECK(s.get_mailbox(f.alice, "Old")->subscribed);
  CHECK_FALSE(s.get_mailbox(f.alice, "Lists")->subscribed);

  // RFC 9051 6.3.7: deleting the mailbox leaves the name subscribed.
  REQUIRE(s.delete_mailbox(f.alice, "Old"));
  subs = s.list_subscriptions(f.alice);
  REQUIRE(subs);
  CHECK(std::find(subs->begin(), subs->end(), "Old") != subs->end());
  // A mailbox created again under the name is subscribed already.
  REQUIRE(s.create_mailbox(f.alice, "Old", SpecialUse::none));
  CHECK(s.get_mailbox(f.alice, "Old")->subscribed);

  // Renaming moves the subscriptions of the mailbox and its children.
  REQUIRE(s.rename_mailbox(f.alice, "Lists", "Groups"));
  subs = s.list_subscriptions(f.alice);
  CHECK(std::find(subs->begin(), subs->end(), "Groups/tern") != subs->end());
  CHECK(std::find(subs->begin(), subs->end(), "Lists/tern") == subs->end());
  CHECK(s.get_mailbox(f.alice, "Groups/tern")->subscribed);

  REQUIRE(s.subscribe(f.alice, "Old", false));
  CHECK(s.subscribe(f.alice, "Old", false).error() == Errc::not_found);
  CHECK_FALSE(s.get_mailbox(f.alice, "Old")->subscribed);
  // UNSUBSCRIBE works for a name whose mailbox is gone.
  REQUIRE(s.delete_mailbox(f.alice, "Groups/tern"));
  REQUIRE(s.subscribe(f.alice, "Groups/tern", false));

  // Deleting the account drops its subscriptions.
  REQUIRE(s.del_account("a@example.test"));
  auto gone = s.list_subscriptions(f.alice);
  REQUIRE(gone);
  CHECK(gone->empty());
}

namespace {

// Turns a schema-2 store into what schema 1 wrote: version 1, no "subs" entries, the
// subscription flag in the mailbox record (for the names in `subscribed`), and no
// first_recent_uid at the end of the record.
void downgrade_to_schema1(const std::filesystem::path& data_dir, const std::vector<std::string>& subscribed) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, (data_dir / "store").c_str(), 0, 0660) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi meta, mailboxes, subs;
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
  REQUIRE(mdb_dbi_open(txn, "mailboxes", 0, &mailboxes) == 0);
  REQUIRE(mdb_dbi_open(txn, "subs", 0, &subs) == 0);
  unsigned char one[4] = {0, 0, 0, 1};
  MDB_val k{6, const_cast<char*>("schema")}, d{4, one};
  REQUIRE(mdb_put(txn, meta, &k, &d, 0) == 0);
  REQUIRE(mdb_drop(txn, subs, 1) == 0);  // schema 1 had no such table
  std::vector<std::pair<std::string, std::string>> recs;
  MDB_cursor* c = nullptr;
  REQUIRE(mdb_cursor_open(txn, mailboxes, &c) == 0);
  MDB_val ck, cv;
  for (int rc = mdb_cursor_get(c, &ck, &cv, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &ck, &cv, MDB_NEXT))
    recs.emplace_back(std::string(static_cast<char*>(ck.mv_data), ck.mv_size),
                      std::string(static_cast<char*>(cv.mv_data), cv.mv_size));
  mdb_cursor_close(c);
  for (auto& [key, v] : recs) {
    // id u64, account u64, name (u32 length + bytes), uidvalidity u32, uidnext u32,
    // highestmodseq u64, special_use u8, subscribed u8, ...
    std::size_t len = (static_cast<unsigned char>(v[16]) << 24) | (static_cast<unsigned char>(v[17]) << 16) |
                      (static_cast<unsigned char>(v[18]) << 8) | static_cast<unsigned char>(v[19]);
    std::string name = v.substr(20, len);
    std::size_t flag = 20 + len + 4 + 4 + 8 + 1;
    v[flag] = std::find(subscribed.begin(), subscribed.end(), name) != subscribed.end() ? 1 : 0;
    v.resize(v.size() - 4);  // drop first_recent_uid
    MDB_val rk{key.size(), key.data()}, rv{v.size(), v.data()};
    REQUIRE(mdb_put(txn, mailboxes, &rk, &rv, 0) == 0);
  }
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace

TEST_CASE("a schema-1 store is migrated: subscriptions moved, nothing recent", "[store][subscriptions][migration]") {
  TempDir dir;
  AccountId alice = 0;
  {
    auto s = Store::open(dir.path);
    REQUIRE(s);
    REQUIRE((*s)->add_domain("example.test"));
    auto a = (*s)->add_account(NewAccount{"a@example.test", "", std::nullopt, {}, true});
    REQUIRE(a);
    alice = *a;
    REQUIRE((*s)->create_mailbox(alice, "Lists/tern", SpecialUse::none));
    DeliveryRequest r;
    r.body = "hello";
    r.targets.push_back(DeliveryTarget{alice});
    REQUIRE((*s)->deliver(r));
  }
  downgrade_to_schema1(dir.path, {"INBOX", "Lists/tern"});
  auto s = Store::open(dir.path);
  REQUIRE(s);
  CHECK((*s)->stats()->schema_version == kSchemaVersion);
  auto subs = (*s)->list_subscriptions(alice);
  REQUIRE(subs);
  CHECK(*subs == std::vector<std::string>{"INBOX", "Lists/tern"});
  CHECK((*s)->get_mailbox(alice, "INBOX")->subscribed);
  CHECK_FALSE((*s)->get_mailbox(alice, "Sent")->subscribed);
  // Messages stored before the migration are not \Recent for anybody.
  auto inbox = (*s)->get_mailbox(alice, "INBOX");
  CHECK(inbox->first_recent_uid == inbox->uidnext);
  auto c = (*s)->claim_recent(inbox->id);
  REQUIRE(c);
  CHECK(c->first == c->end);
  // The subscriptions live apart now: deleting the mailbox keeps the name.
  REQUIRE((*s)->delete_mailbox(alice, "Lists/tern"));
  CHECK(*(*s)->list_subscriptions(alice) == std::vector<std::string>{"INBOX", "Lists/tern"});
  CHECK((*s)->check(false)->empty());
}
