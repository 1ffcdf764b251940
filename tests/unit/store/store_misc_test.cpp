// Store: queue, settings, events, check/repair.
#include <lmdb.h>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;

TEST_CASE("outbound queue: due scan, reschedule, remove", "[store][queue]") {
  Fixture f;
  auto& s = *f.store;
  DeliveryRequest r;
  r.body = "outbound body";
  r.outbound = {{"a@example.test", "x@remote.test", {}, 1000, "", 0}, {"a@example.test", "y@remote.test", {}, 2000, "", 0}};
  auto ids = s.enqueue(r);
  REQUIRE(ids);
  REQUIRE(ids->size() == 2);
  CHECK(s.due_queue(999, 10)->empty());
  auto due = s.due_queue(1500, 10);
  REQUIRE(due->size() == 1);
  CHECK(due->at(0).recipient == "x@remote.test");
  CHECK(due->at(0).size == r.body.size());
  std::string body;
  REQUIRE(s.read_blob(due->at(0).blob, [&](std::string_view c) {
    body.append(c);
    return true;
  }));
  CHECK(body == r.body);
  REQUIRE(s.reschedule((*ids)[0], 3000, "451 4.4.1 try later"));
  auto q = s.get_queue((*ids)[0]);
  CHECK(q->attempts == 1);
  CHECK(q->last_error == "451 4.4.1 try later");
  due = s.due_queue(2500, 10);
  REQUIRE(due->size() == 1);
  CHECK(due->at(0).id == (*ids)[1]);
  CHECK(s.due_queue(5000, 1)->size() == 1);  // limit
  CHECK(s.list_queue()->size() == 2);
  f.require_clean();
  REQUIRE(s.remove_queue((*ids)[0]));
  CHECK(s.stats()->blobs == 1);
  REQUIRE(s.remove_queue((*ids)[1]));
  CHECK(s.stats()->blobs == 0);
  CHECK(s.remove_queue((*ids)[1]).error() == Errc::not_found);
  CHECK(s.enqueue(DeliveryRequest{}).error() == Errc::invalid_argument);
  f.require_clean();
}

TEST_CASE("settings: auto-reply, DKIM keys, web sessions", "[store][settings]") {
  Fixture f;
  auto& s = *f.store;
  CHECK(!s.get_autoreply("a@example.test")->has_value());
  CHECK(*s.claim_autoreply(f.alice, "x@y.test", 1000) == false);  // no auto-reply set
  REQUIRE(s.set_autoreply("a@example.test", AutoReply{"Away", "Back Monday.", 2}));
  auto ar = s.get_autoreply("a@example.test");
  REQUIRE(ar->has_value());
  CHECK((*ar)->subject == "Away");
  CHECK((*ar)->days == 2);
  CHECK(*s.claim_autoreply(f.alice, "X@y.test", 1000) == true);
  CHECK(*s.claim_autoreply(f.alice, "x@y.test", 1000 + 86400) == false);
  CHECK(*s.claim_autoreply(f.alice, "z@y.test", 1000 + 86400) == true);
  CHECK(*s.claim_autoreply(f.alice, "x@y.test", 1000 + 2 * 86400) == true);
  CHECK(s.set_autoreply("a@example.test", AutoReply{"Bad\r\nBcc: x", "", 1}).error() == Errc::invalid_argument);
  CHECK(s.set_autoreply("nobody@example.test", AutoReply{}).error() == Errc::not_found);
  REQUIRE(s.clear_autoreply("a@example.test"));
  CHECK(!s.get_autoreply("a@example.test")->has_value());

  REQUIRE(s.put_dkim_key(DkimKey{"example.test", "s1", "rsa", "-----BEGIN PRIVATE KEY-----\n...", 0}));
  REQUIRE(s.put_dkim_key(DkimKey{"example.test", "s2", "ed25519", "pem2", 0}));
  CHECK(s.put_dkim_key(DkimKey{"nope.test", "s1", "rsa", "x", 0}).error() == Errc::unknown_domain);
  auto keys = s.get_dkim_keys("example.test");
  REQUIRE(keys->size() == 2);
  CHECK(keys->at(1).algorithm == "ed25519");
  CHECK(keys->at(0).created > 0);
  REQUIRE(s.del_dkim_key("example.test", "s1"));
  CHECK(s.get_dkim_keys("example.test")->size() == 1);
  // add_dkim_keys: all or none (rotation adds one key per algorithm in one commit).
  CHECK(s.add_dkim_keys({DkimKey{"example.test", "s3", "rsa", "p3", 0}, DkimKey{"example.test", "s2", "rsa", "x", 0}})
            .error() == Errc::exists);
  CHECK(s.add_dkim_keys({DkimKey{"example.test", "s3", "rsa", "p3", 0}, DkimKey{"example.test", "s3", "ed25519", "x", 0}})
            .error() == Errc::exists);
  CHECK(s.add_dkim_keys({DkimKey{"example.test", "s3", "rsa", "p3", 0}, DkimKey{"nope.test", "s4", "rsa", "x", 0}})
            .error() == Errc::unknown_domain);
  CHECK(s.get_dkim_keys("example.test")->size() == 1);
  REQUIRE(s.add_dkim_keys({DkimKey{"example.test", "s3", "rsa", "p3", 0}, DkimKey{"example.test", "s4", "ed25519", "p4", 0}}));
  CHECK(s.get_dkim_keys("example.test")->size() == 3);
  REQUIRE(s.del_dkim_key("example.test", "s3"));
  REQUIRE(s.del_dkim_key("example.test", "s4"));

  REQUIRE(s.put_session(WebSession{"tok1", "root", "csrf1", 2000}));
  REQUIRE(s.put_session(WebSession{"tok2", "root", "csrf2", 500}));
  CHECK(s.get_session("tok1", 1000)->csrf == "csrf1");
  CHECK(s.get_session("tok2", 1000).error() == Errc::not_found);  // expired
  CHECK(*s.prune_sessions(1000) == 1);
  REQUIRE(s.del_session("tok1"));
  CHECK(s.get_session("tok1", 0).error() == Errc::not_found);
}

TEST_CASE("delivery events: add, recent, prune", "[store][events]") {
  Fixture f;
  auto& s = *f.store;
  std::vector<DeliveryEvent> ev;
  for (int i = 0; i < 5; ++i)
    ev.push_back(DeliveryEvent{1000 + i, "Q" + std::to_string(i), "s@x.test", "r@example.test",
                               EventAction::accepted, "rule " + std::to_string(i)});
  REQUIRE(s.add_events(ev));
  auto recent = s.recent_events(3);
  REQUIRE(recent->size() == 3);
  CHECK(recent->at(0).message_id == "Q4");
  CHECK(recent->at(0).time == 1004);
  CHECK(recent->at(2).detail == "rule 2");
  CHECK(*s.prune_events(1003) == 3);
  CHECK(s.recent_events(10)->size() == 2);
  CHECK(event_action_name(EventAction::forwarded) == "forwarded");
}

TEST_CASE("check reports invariant breaches and repair fixes them", "[store][check]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.deliver(f.alice, "m" + std::to_string(i));
  MailboxId inbox = f.inbox(f.alice);
  std::filesystem::path dir = f.dir.path / "store";
  f.store.reset();
  // Remove message uid 2 behind the store's back: the mailbox counters, the account
  // usage and the body's refcount are now wrong, and the body is an orphan.
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0660) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "messages", 0, &dbi) == 0);
    unsigned char key[12] = {};
    for (int i = 0; i < 8; ++i) key[i] = static_cast<unsigned char>(inbox >> (8 * (7 - i)));
    key[11] = 2;
    MDB_val k{12, key};
    REQUIRE(mdb_del(txn, dbi, &k, nullptr) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  auto s = Store::open(f.dir.path);
  REQUIRE(s);
  auto issues = (*s)->check(false);
  REQUIRE(issues);
  std::string all;
  for (auto& i : *issues) all += i.what + "\n";
  INFO(all);
  CHECK(issues->size() >= 3);
  CHECK(all.find("mailbox") != std::string::npos);
  CHECK(all.find("usage") != std::string::npos);
  CHECK(all.find("orphan blob") != std::string::npos);
  auto fixed = (*s)->check(true);
  REQUIRE(fixed);
  for (auto& i : *fixed) CHECK(i.repaired);
  CHECK((*s)->check(false)->empty());
  CHECK((*s)->get_account("a@example.test")->usage.messages == 2);
  CHECK((*s)->get_mailbox(inbox)->messages == 2);
  CHECK((*s)->get_mailbox(inbox)->uidnext == 4);
  CHECK((*s)->stats()->blobs == 2);
}

TEST_CASE("auto-reply dates: no reply before start or from end on", "[store][settings]") {
  Fixture f;
  auto& s = *f.store;
  AutoReply ar{"Away", "Back in March.", 1};
  ar.start = 10000;
  ar.end = 20000;
  REQUIRE(s.set_autoreply("a@example.test", ar));
  auto got = s.get_autoreply("a@example.test");
  REQUIRE(got->has_value());
  CHECK((*got)->start == 10000);
  CHECK((*got)->end == 20000);
  CHECK(*s.claim_autoreply(f.alice, "x@y.test", 9999) == false);
  CHECK(*s.claim_autoreply(f.alice, "x@y.test", 10000) == true);
  CHECK(*s.claim_autoreply(f.alice, "z@y.test", 20000) == false);
  ar.end = ar.start;  // an empty range is a mistake, not "never"
  CHECK(s.set_autoreply("a@example.test", ar).error() == Errc::invalid_argument);
}

TEST_CASE("web sessions keep created and the credential fingerprint", "[store][settings]") {
  Fixture f;
  auto& s = *f.store;
  WebSession w{"tok", "user:a@example.test", "c", 5000};
  w.created = 1234;
  w.credential = "fp1";
  REQUIRE(s.put_session(w));
  auto got = s.get_session("tok", 1000);
  REQUIRE(got);
  CHECK(got->created == 1234);
  CHECK(got->credential == "fp1");
  REQUIRE(s.put_session(WebSession{"tok2", "admin:root", "c", 5000}));
  CHECK(s.get_session("tok2", 1000)->created > 0);  // 0 = now
}

TEST_CASE("delivery events: for_each_event over a time range", "[store][events]") {
  Fixture f;
  auto& s = *f.store;
  std::vector<DeliveryEvent> ev;
  for (int i = 0; i < 10; ++i)
    ev.push_back(DeliveryEvent{1000 + i * 10, "Q" + std::to_string(i), "s@x.test", "r@example.test",
                               EventAction::delivered, ""});
  REQUIRE(s.add_events(ev));
  std::vector<std::string> seen;
  REQUIRE(s.for_each_event(1020, 1060, [&](const DeliveryEvent& e) {
    seen.push_back(e.message_id);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"Q2", "Q3", "Q4", "Q5"});
  seen.clear();
  REQUIRE(s.for_each_event(0, 100000, [&](const DeliveryEvent& e) {
    seen.push_back(e.message_id);
    return seen.size() < 3;
  }));
  CHECK(seen.size() == 3);
}
