// commit_outcome (queue/outcome.hpp) against a real store in a temp dir: the DSN, the
// queue changes and the events in one commit, and no DSN about entries an admin
// deleted (`ternctl queue delete`) while their attempt was under way.
#include <catch2/catch.hpp>

#include "queue/outcome.hpp"
#include "../store/store_fixture.hpp"

using namespace tern;
using namespace tern::mta::queue;

namespace {

constexpr std::time_t kNow = 1'800'000'000;

config::Config make_cfg() {
  config::Config c;
  c.hostname = "mx.example.test";
  c.outbound.max_age = std::chrono::seconds(5 * 86400);
  return c;
}

const std::string kOriginal = "From: a@example.test\r\nSubject: hello\r\n\r\nbody\r\n";

// Queues one message from the local a@example.test to the given remote recipients.
std::vector<store::QueueEntry> enqueue(store::Store& s, std::vector<std::string> rcpts) {
  store::DeliveryRequest r;
  r.body = kOriginal;
  for (auto& rc : rcpts) {
    store::OutboundEntry e;
    e.sender = "a@example.test";
    e.recipient = rc;
    e.message_id = "M1";
    r.outbound.push_back(e);
  }
  auto ids = s.enqueue(r);
  REQUIRE(ids);
  auto all = s.list_queue();
  REQUIRE(all);
  return *all;
}

std::vector<RcptAttempt> refused(const std::vector<store::QueueEntry>& entries) {
  std::vector<RcptAttempt> out;
  for (const auto& e : entries) {
    RcptAttempt a;
    a.entry = e;
    a.reply = smtp::Reply(550, "5.1.1", "User unknown");
    out.push_back(a);
  }
  return out;
}

// The plan after a 550 for every entry, with its one DSN.
OutcomePlan refused_plan(const std::vector<store::QueueEntry>& entries) {
  auto plan = decide_outcome(make_cfg(), refused(entries), {"mx.remote.test", "127.0.0.1:25", ""}, kNow);
  REQUIRE(plan.dsns.size() == 1);
  return plan;
}

std::size_t inbox_messages(store::test::Fixture& f) { return f.store->get_mailbox(f.alice, "INBOX")->messages; }

}  // namespace

TEST_CASE("commit_outcome: a 5xx removes the entry and puts the bounce in the local sender's INBOX",
          "[queue][outcome][store]") {
  store::test::Fixture f;
  auto cfg = make_cfg();
  auto entries = enqueue(*f.store, {"x@remote.test"});
  auto plan = refused_plan(entries);
  REQUIRE(commit_outcome(*f.store, cfg, plan, kOriginal, kNow));
  CHECK(f.store->list_queue()->empty());
  CHECK(inbox_messages(f) == 1);
  auto ev = f.store->recent_events(10);
  REQUIRE(ev);
  CHECK(ev->size() == 2);  // the attempt (bounced) and the notice (delivered)
  f.require_clean();
}

TEST_CASE("commit_outcome: no bounce for an entry deleted during its attempt", "[queue][outcome][store]") {
  store::test::Fixture f;
  auto cfg = make_cfg();
  auto entries = enqueue(*f.store, {"x@remote.test"});
  auto plan = refused_plan(entries);
  // ternctl queue delete, between the peer's 550 and the worker's commit.
  REQUIRE(f.store->remove_queue(entries[0].id));
  REQUIRE(commit_outcome(*f.store, cfg, plan, kOriginal, kNow));
  CHECK(inbox_messages(f) == 0);
  CHECK(f.store->list_queue()->empty());
  auto ev = f.store->recent_events(10);
  REQUIRE(ev);
  REQUIRE(ev->size() == 1);  // the attempt, not a notice that was never sent
  CHECK(ev->front().action == store::EventAction::bounced);
  f.require_clean();
}

TEST_CASE("commit_outcome: one recipient deleted, the other still bounced", "[queue][outcome][store]") {
  store::test::Fixture f;
  auto cfg = make_cfg();
  auto entries = enqueue(*f.store, {"x@remote.test", "y@remote.test"});
  REQUIRE(entries.size() == 2);
  auto plan = refused_plan(entries);
  REQUIRE(f.store->remove_queue(entries[0].id));
  REQUIRE(commit_outcome(*f.store, cfg, plan, kOriginal, kNow));
  CHECK(inbox_messages(f) == 1);
  CHECK(f.store->list_queue()->empty());
  f.require_clean();
}
