// Store: delivery, mailboxes, messages, flags, expunge, copy/move, group commit.
#include <fstream>
#include <set>
#include <thread>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;
using tern::store::test::TempDir;

namespace {
std::string big_body(std::size_t n) {
  std::string s = "Subject: big\r\n\r\n";
  while (s.size() < n) s += "0123456789abcdefghijklmnopqrstuvwxyz-" + std::to_string(s.size()) + "\r\n";
  s.resize(n);
  return s;
}
}  // namespace

TEST_CASE("deliver stores one body for many targets and enqueues", "[store][deliver]") {
  Fixture f;
  auto& s = *f.store;
  REQUIRE(s.add_account({"b@example.test", "", {}, {}, true}));
  auto bob = s.get_account("b@example.test")->id;
  DeliveryRequest r;
  r.prefix = "Received: by test\r\n";
  r.body = big_body(100000);
  r.internal_date = 1700000000;
  r.targets = {{f.alice, "INBOX"}, {bob, "INBOX"}, {bob, "Archive"}, {bob, "NoSuchBox", false}};
  r.outbound.push_back(OutboundEntry{"a@example.test", "x@remote.test", {"SUCCESS,FAILURE", "rfc822;x@remote.test", "HDRS", "env1"}, 0, "", 0});
  r.events.push_back(DeliveryEvent{0, "Q1", "a@example.test", "b@example.test", EventAction::delivered, "ok"});
  auto res = s.deliver(r);
  REQUIRE(res);
  REQUIRE(res->targets.size() == 4);
  CHECK(!res->targets[0].error);
  CHECK(res->targets[0].uid == 1);
  CHECK(res->targets[1].uid == 1);
  CHECK(res->targets[2].uid == 1);
  CHECK(res->targets[3].error == Errc::no_such_mailbox);
  REQUIRE(res->queued.size() == 1);
  auto st = s.stats();
  CHECK(st->blobs == 1);
  CHECK(st->blob_bytes == r.prefix.size() + r.body.size());
  CHECK(st->messages == 3);
  CHECK(st->queue == 1);

  auto text = s.read_message_string(res->targets[0].mailbox, 1);
  REQUIRE(text);
  CHECK(*text == r.prefix + r.body);
  auto msg = s.get_message(res->targets[0].mailbox, 1);
  CHECK(msg->internal_date == 1700000000);
  CHECK(msg->size == text->size());
  auto acct = s.get_account(bob);
  CHECK(acct->usage.messages == 2);
  CHECK(acct->usage.bytes == 2 * text->size());
  auto q = s.get_queue(res->queued[0]);
  CHECK(q->dsn.notify == "SUCCESS,FAILURE");
  CHECK(q->dsn.envid == "env1");
  CHECK(q->blob == res->blob);
  auto ev = s.recent_events(10);
  REQUIRE(ev->size() == 1);
  CHECK(ev->at(0).action == EventAction::delivered);

  // Missing non-INBOX mailbox falls back to INBOX by default.
  DeliveryRequest r2;
  r2.body = "x";
  r2.targets = {{bob, "Nope"}};
  auto res2 = s.deliver(r2);
  REQUIRE(res2);
  CHECK(res2->targets[0].mailbox == s.get_mailbox(bob, "INBOX")->id);
  // The same content again shares the stored body (content hash).
  auto res3 = s.deliver(r);
  CHECK(res3->blob == res->blob);
  CHECK(s.stats()->blobs == 2);
  f.require_clean();
}

TEST_CASE("deliver from a spool file, and a 1 MiB message to 100 recipients is stored once", "[store][deliver]") {
  Fixture f;
  auto& s = *f.store;
  std::string body = big_body(1 << 20);
  std::filesystem::path spool = f.dir.path / "spool.eml";
  std::ofstream(spool, std::ios::binary) << body;
  DeliveryRequest r;
  r.prefix = "Return-Path: <x@y.test>\r\n";
  r.body_file = spool;
  for (int i = 0; i < 100; ++i) {
    std::string addr = "u" + std::to_string(i) + "@example.test";
    auto id = s.add_account({addr, "", {}, {}, true});
    REQUIRE(id);
    r.targets.push_back({*id, "INBOX"});
  }
  auto used_before = s.stats()->used_bytes;
  auto res = s.deliver(r);
  REQUIRE(res);
  for (auto& t : res->targets) CHECK(!t.error);
  auto st = s.stats();
  CHECK(st->blobs == 1);
  CHECK(st->blob_bytes == r.prefix.size() + body.size());
  // 100 copies would be 100 MiB; one copy plus 100 small records is well under 2 MiB.
  CHECK(st->used_bytes - used_before < (2u << 20));
  auto text = s.read_message_string(res->targets[57].mailbox, 1);
  CHECK(*text == r.prefix + body);
  // Streaming read gives the same bytes in several chunks.
  std::size_t chunks = 0, total = 0;
  REQUIRE(s.read_message(res->targets[3].mailbox, 1, [&](std::string_view c) {
    ++chunks;
    total += c.size();
    return true;
  }));
  CHECK(chunks > 100);
  CHECK(total == text->size());

  r.body_file = f.dir.path / "missing.eml";
  CHECK(s.deliver(r).error() == Errc::io_error);
  f.require_clean();
}

TEST_CASE("quota is enforced per target in the delivery txn", "[store][deliver][quota]") {
  Fixture f;
  auto& s = *f.store;
  REQUIRE(s.add_account({"b@example.test", "", {}, Quota{250, 0}, true}));
  REQUIRE(s.add_account({"c@example.test", "", {}, Quota{0, 2}, true}));
  auto bob = s.get_account("b@example.test")->id;
  auto carol = s.get_account("c@example.test")->id;
  auto send = [&](std::string body) {
    DeliveryRequest r;
    r.body = std::move(body);
    r.targets = {{f.alice}, {bob}, {carol}};
    auto res = s.deliver(r);
    REQUIRE(res);
    return *res;
  };
  auto r1 = send(std::string(100, 'a'));
  CHECK(!r1.targets[1].error);
  CHECK(!r1.targets[2].error);
  auto r2 = send(std::string(100, 'b'));
  CHECK(!r2.targets[1].error);
  CHECK(!r2.targets[2].error);
  auto r3 = send(std::string(100, 'c'));
  CHECK(!r3.targets[0].error);  // alice has no quota
  CHECK(r3.targets[1].error == Errc::quota_exceeded);  // 300 > 250 bytes
  CHECK(r3.targets[2].error == Errc::quota_exceeded);  // 3 > 2 messages
  CHECK_FALSE(is_temporary(r3.targets[1].error));
  CHECK(s.get_account(bob)->usage.bytes == 200);
  // Two targets of one account in one request count together.
  DeliveryRequest r;
  r.body = std::string(40, 'd');
  r.targets = {{bob, "INBOX"}, {bob, "Archive"}};
  auto r4 = s.deliver(r);
  CHECK(!r4->targets[0].error);
  CHECK(r4->targets[1].error == Errc::quota_exceeded);
  // Nothing stored when every target fails.
  r.targets = {{carol}};
  auto r5 = s.deliver(r);
  CHECK(r5->targets[0].error == Errc::quota_exceeded);
  CHECK(r5->blob == 0);
  CHECK(s.resolve("b@example.test")->local.at(0).usage.bytes == 240);
  f.require_clean();
}

TEST_CASE("mailboxes: create, hierarchy, rename with children, delete, list, subscribe", "[store][mailbox]") {
  Fixture f;
  auto& s = *f.store;
  auto id = s.create_mailbox(f.alice, "Work/2024/Q1", SpecialUse::none);
  REQUIRE(id);
  CHECK(s.get_mailbox(f.alice, "Work"));  // parents created (RFC 9051 6.3.4)
  CHECK(s.get_mailbox(f.alice, "Work/2024"));
  CHECK(s.create_mailbox(f.alice, "Work", SpecialUse::none).error() == Errc::exists);
  CHECK(s.create_mailbox(f.alice, "inbox", SpecialUse::none).error() == Errc::exists);
  for (const char* bad : {"", "/x", "x/", "a//b", "a*", "b%", "c\r"})
    CHECK(s.create_mailbox(f.alice, bad, SpecialUse::none).error() == Errc::invalid_argument);

  auto names = [&](std::string_view pattern) {
    std::vector<std::string> out;
    auto list = s.list_mailboxes(f.alice, pattern);
    REQUIRE(list);
    for (auto& m : *list) out.push_back(m.name);
    return out;
  };
  CHECK(names("Work/%") == std::vector<std::string>{"Work/2024"});
  CHECK(names("Work/*") == std::vector<std::string>{"Work/2024", "Work/2024/Q1"});
  CHECK(names("%").size() == 7);

  auto before = s.get_mailbox(*id);
  f.deliver(f.alice, "m1", "Work/2024/Q1");
  REQUIRE(s.rename_mailbox(f.alice, "Work", "Job"));
  CHECK(names("Job/*") == std::vector<std::string>{"Job/2024", "Job/2024/Q1"});
  CHECK(names("Work*").empty());
  auto after = s.get_mailbox(f.alice, "Job/2024/Q1");
  REQUIRE(after);
  CHECK(after->id == *id);
  CHECK(after->uidvalidity == before->uidvalidity);
  CHECK(after->messages == 1);
  CHECK(s.rename_mailbox(f.alice, "Job", "Sent").error() == Errc::exists);
  CHECK(s.rename_mailbox(f.alice, "Nope", "X").error() == Errc::no_such_mailbox);

  // Renaming INBOX moves its messages and leaves INBOX empty.
  f.deliver(f.alice, "i1");
  f.deliver(f.alice, "i2");
  REQUIRE(s.rename_mailbox(f.alice, "INBOX", "Old"));
  CHECK(s.get_mailbox(f.alice, "INBOX")->messages == 0);
  CHECK(s.get_mailbox(f.alice, "Old")->messages == 2);
  CHECK(*s.read_message_string(s.get_mailbox(f.alice, "Old")->id, 2) == "i2");
  CHECK(s.vanished_since(f.inbox(f.alice), 0)->size() == 2);

  CHECK(s.delete_mailbox(f.alice, "INBOX").error() == Errc::not_permitted);
  REQUIRE(s.delete_mailbox(f.alice, "Job/2024/Q1"));
  CHECK(s.get_mailbox(f.alice, "Job/2024/Q1").error() == Errc::no_such_mailbox);
  CHECK(s.get_mailbox(*id).error() == Errc::no_such_mailbox);
  // A new mailbox with the old name gets a new UIDVALIDITY.
  REQUIRE(s.create_mailbox(f.alice, "Job/2024/Q1", SpecialUse::none));
  CHECK(s.get_mailbox(f.alice, "Job/2024/Q1")->uidvalidity != before->uidvalidity);

  REQUIRE(s.subscribe(f.alice, "Job", true));
  CHECK(s.get_mailbox(f.alice, "Job")->subscribed);
  REQUIRE(s.set_special_use(f.alice, "Job", SpecialUse::flagged));
  CHECK(s.get_mailbox(f.alice, "Job")->special_use == SpecialUse::flagged);
  CHECK(s.get_account(f.alice)->usage.messages == 2);
  f.require_clean();
}

TEST_CASE("messages: iterate, flags with MODSEQ, expunge with VANISHED, copy and move", "[store][messages]") {
  Fixture f;
  auto& s = *f.store;
  MailboxId inbox = f.inbox(f.alice);
  for (int i = 1; i <= 10; ++i) f.deliver(f.alice, "message " + std::to_string(i));
  auto mb = s.get_mailbox(inbox);
  CHECK(mb->uidnext == 11);
  CHECK(mb->messages == 10);
  CHECK(mb->unseen == 10);
  ModSeq ms0 = mb->highestmodseq;

  std::vector<Uid> seen;
  REQUIRE(s.for_each_message(inbox, {3, 6}, [&](const MessageMeta& m) {
    seen.push_back(m.uid);
    return true;
  }));
  CHECK(seen == std::vector<Uid>{3, 4, 5, 6});
  seen.clear();
  REQUIRE(s.for_each_message(inbox, {1, 0xffffffffu}, [&](const MessageMeta& m) {
    seen.push_back(m.uid);
    return seen.size() < 2;
  }));
  CHECK(seen.size() == 2);

  FlagUpdate up;
  up.op = FlagUpdate::Op::add;
  up.flags = kSeen | kFlagged;
  up.keywords = {"$Work", "Later"};
  auto fr = s.set_flags(inbox, {{2, 4}, {9, 9}}, up);
  REQUIRE(fr);
  REQUIRE(fr->changed.size() == 4);
  ModSeq ms1 = fr->changed[0].modseq;
  CHECK(ms1 > ms0);
  CHECK(fr->changed[0].keywords == "$Work Later");
  CHECK(s.get_mailbox(inbox)->highestmodseq == ms1);
  CHECK(s.get_mailbox(inbox)->unseen == 6);
  // No change → no MODSEQ bump.
  fr = s.set_flags(inbox, {{2, 2}}, up);
  CHECK(fr->changed.empty());
  CHECK(s.get_mailbox(inbox)->highestmodseq == ms1);
  // Remove a keyword case-insensitively.
  FlagUpdate rm;
  rm.op = FlagUpdate::Op::remove;
  rm.keywords = {"later"};
  rm.flags = kSeen;
  fr = s.set_flags(inbox, {{2, 2}}, rm);
  REQUIRE(fr->changed.size() == 1);
  CHECK(fr->changed[0].keywords == "$Work");
  CHECK(fr->changed[0].flags == kFlagged);
  // UNCHANGEDSINCE: uid 2 was modified after ms1 → MODIFIED; uid 3 not.
  FlagUpdate cond;
  cond.op = FlagUpdate::Op::replace;
  cond.flags = kDeleted;
  cond.unchanged_since = ms1;
  fr = s.set_flags(inbox, {{2, 3}}, cond);
  CHECK(fr->modified == std::vector<Uid>{2});
  REQUIRE(fr->changed.size() == 1);
  CHECK(fr->changed[0].uid == 3);
  CHECK(fr->changed[0].flags == kDeleted);
  CHECK(fr->changed[0].keywords.empty());

  // Expunge only \Deleted messages, then by UID set.
  ModSeq before_expunge = s.get_mailbox(inbox)->highestmodseq;
  auto gone = s.expunge(inbox, std::nullopt, true);
  CHECK(*gone == std::vector<Uid>{3});
  gone = s.expunge(inbox, UidSet{{7, 8}}, false);
  CHECK(*gone == std::vector<Uid>{7, 8});
  CHECK(*s.vanished_since(inbox, before_expunge) == std::vector<Uid>{3, 7, 8});
  CHECK(*s.vanished_since(inbox, s.get_mailbox(inbox)->highestmodseq - 1) == std::vector<Uid>{7, 8});
  CHECK(s.get_message(inbox, 3).error() == Errc::not_found);
  CHECK(s.get_mailbox(inbox)->messages == 7);
  CHECK(s.get_account(f.alice)->usage.messages == 7);

  // Copy keeps one body; move removes from the source.
  auto blobs_before = s.stats()->blobs;
  MailboxId archive = s.get_mailbox(f.alice, "Archive")->id;
  auto cr = s.copy_messages(inbox, {{1, 2}}, archive);
  REQUIRE(cr);
  CHECK(cr->uids == std::vector<std::pair<Uid, Uid>>{{1, 1}, {2, 2}});
  CHECK(cr->dest_uidvalidity == s.get_mailbox(archive)->uidvalidity);
  CHECK(s.stats()->blobs == blobs_before);
  CHECK(*s.read_message_string(archive, 2) == "message 2");
  CHECK(s.get_message(archive, 2)->keywords == "$Work");
  auto mr = s.move_messages(inbox, {{9, 10}}, archive);
  REQUIRE(mr);
  CHECK(mr->uids == std::vector<std::pair<Uid, Uid>>{{9, 3}, {10, 4}});
  CHECK(s.get_message(inbox, 9).error() == Errc::not_found);
  CHECK(*s.read_message_string(archive, 4) == "message 10");
  CHECK(s.get_account(f.alice)->usage.messages == 9);
  CHECK(s.stats()->blobs == blobs_before);
  f.require_clean();

  // Deleting the last references frees the bodies.
  REQUIRE(s.expunge(inbox, std::nullopt, false));
  REQUIRE(s.expunge(archive, std::nullopt, false));
  CHECK(s.stats()->blobs == 0);
  CHECK(s.get_account(f.alice)->usage.bytes == 0);
  f.require_clean();
}

TEST_CASE("group commit: concurrent deliveries from 16 threads", "[store][deliver][group]") {
  for (bool group : {true, false}) {
    StoreOptions opt;
    opt.group_commit = group;
    Fixture f(opt);
    MailboxId inbox = f.inbox(f.alice);
    std::vector<std::thread> threads;
    std::mutex mu;
    std::vector<Uid> uids;
    for (int t = 0; t < 16; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          DeliveryRequest r;
          r.body = "thread " + std::to_string(t) + " msg " + std::to_string(i);
          r.targets = {{f.alice}};
          auto res = f.store->deliver(r);
          REQUIRE(res);
          std::lock_guard l(mu);
          uids.push_back(res->targets[0].uid);
        }
      });
    for (auto& th : threads) th.join();
    std::set<Uid> unique(uids.begin(), uids.end());
    CHECK(unique.size() == 320);
    CHECK(*unique.rbegin() == 320);
    CHECK(f.store->get_mailbox(inbox)->messages == 320);
    f.require_clean();
  }
}

TEST_CASE("backup is a consistent copy that opens as a data_dir", "[store][check]") {
  Fixture f;
  auto& s = *f.store;
  for (int i = 0; i < 5; ++i) f.deliver(f.alice, "m" + std::to_string(i));
  f.require_clean();
  TempDir bdir;
  std::filesystem::remove_all(bdir.path);
  REQUIRE(s.backup(bdir.path));
  CHECK(s.backup(bdir.path).error() == Errc::exists);
  f.store.reset();
  auto b = Store::open(bdir.path);
  REQUIRE(b);
  auto acct = (*b)->get_account("a@example.test");
  REQUIRE(acct);
  CHECK(acct->usage.messages == 5);
  CHECK(*(*b)->read_message_string((*b)->get_mailbox(acct->id, "INBOX")->id, 5) == "m4");
  auto issues = (*b)->check(false);
  CHECK(issues->empty());
}

TEST_CASE("wait_for_change wakes on a commit from another thread", "[store][notify]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  ModSeq since = f.store->get_mailbox(inbox)->highestmodseq;
  auto t0 = std::chrono::steady_clock::now();
  auto r = f.store->wait_for_change(inbox, since, std::chrono::milliseconds(100));
  REQUIRE(r);
  CHECK(*r == since);  // timed out
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(100));
  std::chrono::steady_clock::time_point delivered;
  std::thread th([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    f.deliver(f.alice, "wake up");
    delivered = std::chrono::steady_clock::now();
  });
  r = f.store->wait_for_change(inbox, since, std::chrono::seconds(10));
  auto woke = std::chrono::steady_clock::now();
  th.join();
  REQUIRE(r);
  CHECK(*r > since);
  CHECK(woke - delivered < std::chrono::milliseconds(100));
  auto w = f.store->watch();
  CHECK(w->fd() >= 0);
}

TEST_CASE("a full map grows and the delivery still succeeds", "[store][deliver][mapfull]") {
  for (bool group : {true, false}) {
    StoreOptions opt;
    opt.map_size = 1 << 20;  // 1 MiB: the 3 MiB body below cannot fit
    opt.group_commit = group;
    Fixture f(opt);
    DeliveryRequest r;
    r.body = big_body(3 << 20);
    r.targets = {DeliveryTarget{f.alice}};
    auto res = f.store->deliver(r);
    REQUIRE(res);
    CHECK(!res->targets[0].error);
    CHECK(f.store->read_message_string(res->targets[0].mailbox, res->targets[0].uid)->size() == r.body.size());
    f.require_clean();
  }
}
