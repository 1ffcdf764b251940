// Store: queue changes applied with a delivery (outbound worker), flush, SRS secret.
#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;

namespace {
std::vector<QueueId> enqueue_two(Store& s) {
  DeliveryRequest r;
  r.body = "Subject: x\r\n\r\nbody\r\n";
  OutboundEntry e;
  e.sender = "a@example.test";
  e.recipient = "x@remote.test";
  e.next_attempt = 1000;
  e.message_id = "MSG1";
  r.outbound.push_back(e);
  e.recipient = "y@remote.test";
  r.outbound.push_back(e);
  auto ids = s.enqueue(r);
  REQUIRE(ids);
  REQUIRE(ids->size() == 2);
  return *ids;
}
}  // namespace

TEST_CASE("queue entries keep message id and flags", "[store][queue]") {
  Fixture f;
  auto ids = enqueue_two(*f.store);
  auto q = f.store->get_queue(ids[0]);
  REQUIRE(q);
  CHECK(q->message_id == "MSG1");
  CHECK(q->flags == 0);
}

TEST_CASE("a bounce and the removal of its failed entry commit together", "[store][queue]") {
  Fixture f;
  auto ids = enqueue_two(*f.store);
  DeliveryRequest bounce;
  bounce.body = "Subject: Undelivered\r\n\r\nsorry\r\n";
  bounce.targets.push_back(DeliveryTarget{f.alice});
  bounce.queue_changes.push_back({ids[0], QueueChange::Op::remove, 0, "", 0});
  bounce.queue_changes.push_back({ids[1], QueueChange::Op::reschedule, 5000, "451 later", kQueueDelayNotified});
  DeliveryEvent ev;
  ev.message_id = "MSG1";
  ev.action = EventAction::bounced;
  bounce.events.push_back(ev);
  auto res = f.store->deliver(bounce);
  REQUIRE(res);
  CHECK_FALSE(f.store->get_queue(ids[0]));
  auto q = f.store->get_queue(ids[1]);
  REQUIRE(q);
  CHECK(q->attempts == 1);
  CHECK(q->next_attempt == 5000);
  CHECK(q->last_error == "451 later");
  CHECK(q->flags == kQueueDelayNotified);
  CHECK(f.store->due_queue(4999, 10)->empty());
  CHECK(f.store->due_queue(5000, 10)->size() == 1);
  // The shared body keeps one reference (entry 1) plus the bounce's own blob.
  f.require_clean();
}

TEST_CASE("only_if_queued: a DSN about deleted entries is not stored, the rest commits", "[store][queue]") {
  Fixture f;
  auto ids = enqueue_two(*f.store);
  auto dsn = [&](std::vector<QueueId> about) {
    DeliveryRequest r;
    r.body = "Subject: Undelivered\r\n\r\nsorry\r\n";
    r.targets.push_back(DeliveryTarget{f.alice});
    OutboundEntry o;
    o.recipient = "a@remote.test";
    r.outbound.push_back(o);
    r.only_if_queued = std::move(about);
    for (auto id : r.only_if_queued) r.queue_changes.push_back({id, QueueChange::Op::remove, 0, "", 0});
    DeliveryEvent attempt;
    attempt.message_id = "MSG1";
    attempt.action = EventAction::bounced;
    r.events.push_back(attempt);
    DeliveryEvent notice;
    notice.message_id = "dsn.MSG1";
    notice.action = EventAction::delivered;
    r.body_events.push_back(notice);
    auto res = f.store->deliver(r);
    REQUIRE(res);
    return *res;
  };
  // Entry 0 deleted (ternctl queue delete) before the attempt's commit: nothing of the
  // DSN is stored; the attempt's event is.
  REQUIRE(f.store->remove_queue(ids[0]));
  auto res = dsn({ids[0]});
  CHECK(res.skipped);
  CHECK(res.blob == 0);
  CHECK(res.queued.empty());
  REQUIRE(res.targets.size() == 1);
  CHECK(res.targets[0].error);
  CHECK(f.store->get_mailbox(f.alice, "INBOX")->messages == 0);
  auto q = f.store->list_queue();
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  CHECK(q->front().id == ids[1]);
  auto ev = f.store->recent_events(10);
  REQUIRE(ev);
  REQUIRE(ev->size() == 1);
  CHECK(ev->front().message_id == "MSG1");
  // One of its entries still queued: the DSN is stored, queued, and its event kept.
  res = dsn({ids[0], ids[1]});
  CHECK_FALSE(res.skipped);
  CHECK(res.queued.size() == 1);
  CHECK(!res.targets[0].error);
  CHECK(f.store->get_mailbox(f.alice, "INBOX")->messages == 1);
  q = f.store->list_queue();
  REQUIRE(q);
  REQUIRE(q->size() == 1);  // entry 1 removed, the DSN queued
  CHECK(q->front().recipient == "a@remote.test");
  ev = f.store->recent_events(10);
  REQUIRE(ev);
  CHECK(ev->size() == 3);
  f.require_clean();
}

TEST_CASE("update_queue removes accepted entries; unknown ids are skipped", "[store][queue]") {
  Fixture f;
  auto ids = enqueue_two(*f.store);
  DeliveryEvent ev;
  ev.message_id = "MSG1";
  ev.action = EventAction::delivered;
  ev.detail = "250 ok";
  REQUIRE(f.store->update_queue({{ids[0], QueueChange::Op::remove, 0, "", 0},
                                 {ids[1], QueueChange::Op::remove, 0, "", 0},
                                 {9999, QueueChange::Op::remove, 0, "", 0}},
                                {ev}));
  CHECK(f.store->list_queue()->empty());
  auto st = f.store->stats();
  REQUIRE(st);
  CHECK(st->blobs == 0);
  auto evs = f.store->recent_events(5);
  REQUIRE(evs);
  REQUIRE_FALSE(evs->empty());
  CHECK((*evs)[0].detail == "250 ok");
  f.require_clean();
}

TEST_CASE("flush_queue makes entries due now", "[store][queue]") {
  Fixture f;
  DeliveryRequest r;
  r.body = "x\r\n";
  OutboundEntry e;
  e.sender = "a@example.test";
  e.recipient = "x@remote.test";
  e.next_attempt = 4'000'000'000;  // far future
  r.outbound.push_back(e);
  r.outbound.push_back(e);
  auto ids = f.store->enqueue(r);
  REQUIRE(ids);
  auto now = static_cast<UnixTime>(std::time(nullptr));
  CHECK(f.store->due_queue(now, 10)->empty());
  auto one = f.store->flush_queue((*ids)[0]);
  REQUIRE(one);
  CHECK(*one == 1);
  CHECK(f.store->due_queue(now + 1, 10)->size() == 1);
  auto all = f.store->flush_queue(0);
  REQUIRE(all);
  CHECK(*all == 1);
  CHECK(f.store->due_queue(now + 1, 10)->size() == 2);
  CHECK(f.store->flush_queue(12345).error() == Errc::not_found);
}

TEST_CASE("srs_secret is made once and kept", "[store][srs]") {
  Fixture f;
  auto a = f.store->srs_secret();
  REQUIRE(a);
  CHECK(a->size() == 32);
  auto b = f.store->srs_secret();
  REQUIRE(b);
  CHECK(*a == *b);
  auto again = Store::open(f.dir.path);
  REQUIRE(again);
  CHECK(*(*again)->srs_secret() == *a);
}
