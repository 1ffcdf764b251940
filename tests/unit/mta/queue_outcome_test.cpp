// decide_outcome (queue/outcome.hpp): per-recipient replies to delivered / deferred /
// bounced, with the DSNs RFC 3461 asks for. Pure: no store.
#include <catch2/catch.hpp>

#include "queue/outcome.hpp"

using namespace tern;
using namespace tern::mta::queue;
using Op = store::QueueChange::Op;

namespace {

constexpr std::time_t kNow = 1'800'000'000;

config::Config make_cfg() {
  config::Config c;
  c.hostname = "mx.example.test";
  c.outbound.retry_min = std::chrono::seconds(300);
  c.outbound.retry_max = std::chrono::seconds(3600);
  c.outbound.max_age = std::chrono::seconds(5 * 86400);
  c.outbound.delay_notice = std::chrono::seconds(4 * 3600);
  return c;
}

RcptAttempt attempt(store::QueueId id, std::string rcpt, smtp::Reply r, std::time_t age = 60,
                    std::uint32_t attempts = 0, std::string sender = "a@example.test") {
  RcptAttempt a;
  a.entry.id = id;
  a.entry.sender = std::move(sender);
  a.entry.recipient = std::move(rcpt);
  a.entry.created = static_cast<store::UnixTime>(kNow - age);
  a.entry.attempts = attempts;
  a.entry.message_id = "M" + std::to_string(id);
  a.reply = std::move(r);
  return a;
}

AttemptInfo info() { return {"mx.remote.test", "127.0.0.1:2525", "TLSv1.3"}; }

}  // namespace

TEST_CASE("retry interval doubles from retry_min up to retry_max", "[queue][outcome]") {
  auto c = make_cfg();
  CHECK(retry_interval(c.outbound, 0).count() == 300);
  CHECK(retry_interval(c.outbound, 1).count() == 600);
  CHECK(retry_interval(c.outbound, 2).count() == 1200);
  CHECK(retry_interval(c.outbound, 3).count() == 2400);
  CHECK(retry_interval(c.outbound, 4).count() == 3600);
  CHECK(retry_interval(c.outbound, 40).count() == 3600);
  c.outbound.retry_min = std::chrono::seconds(5000);  // min above max: max wins
  CHECK(retry_interval(c.outbound, 0).count() == 3600);
}

TEST_CASE("250: removed, delivered event with host, address, TLS and reply; no DSN", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(7, "x@remote.test", smtp::Reply(250, "2.0.0", "Ok: queued as ABC"))}, info(), kNow);
  REQUIRE(p.changes.size() == 1);
  CHECK(p.changes[0].id == 7);
  CHECK(p.changes[0].op == Op::remove);
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].action == store::EventAction::delivered);
  CHECK(p.events[0].message_id == "M7");
  CHECK(p.events[0].detail.find("host mx.remote.test[127.0.0.1:2525]") != std::string::npos);
  CHECK(p.events[0].detail.find("tls=TLSv1.3") != std::string::npos);
  CHECK(p.events[0].detail.find("250 2.0.0 Ok: queued as ABC") != std::string::npos);
  CHECK(p.dsns.empty());
  CHECK(p.delivered == 1);
  CHECK(p.deferred + p.bounced == 0);
}

TEST_CASE("4xx: rescheduled after the growing interval, last error kept, no DSN yet", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(3, "x@remote.test", smtp::Reply(451, "4.3.0", "try later"), 60, 2)}, info(), kNow);
  REQUIRE(p.changes.size() == 1);
  CHECK(p.changes[0].op == Op::reschedule);
  CHECK(p.changes[0].next_attempt == static_cast<store::UnixTime>(kNow + 1200));
  CHECK(p.changes[0].error.find("451 4.3.0 try later") != std::string::npos);
  CHECK(p.changes[0].set_flags == 0);
  CHECK(p.events[0].action == store::EventAction::deferred);
  CHECK(p.events[0].detail.find("next=") != std::string::npos);
  CHECK(p.dsns.empty());
  CHECK(p.deferred == 1);
}

TEST_CASE("a network error without a connection is a deferral that says so", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(3, "x@remote.test", smtp::Reply(451, "4.4.1", "connect: refused"))}, AttemptInfo{}, kNow);
  CHECK(p.changes[0].op == Op::reschedule);
  CHECK(p.events[0].detail.find("no connection tls=none") != std::string::npos);
}

TEST_CASE("5xx: removed and one failure DSN to the sender naming recipient and reason", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(4, "nosuch@remote.test", smtp::Reply(550, "5.1.1", "User unknown"))}, info(), kNow);
  REQUIRE(p.changes.size() == 1);
  CHECK(p.changes[0].op == Op::remove);
  CHECK(p.events[0].action == store::EventAction::bounced);
  CHECK(p.bounced == 1);
  REQUIRE(p.dsns.size() == 1);
  const auto& d = p.dsns[0];
  CHECK(d.to == "a@example.test");
  CHECK(d.input.reporting_mta == "mx.example.test");
  REQUIRE(d.input.rcpts.size() == 1);
  CHECK(d.input.rcpts[0].final_recipient == "nosuch@remote.test");
  CHECK(d.input.rcpts[0].action == DsnAction::failed);
  CHECK(d.input.rcpts[0].status == "5.1.1");
  CHECK(d.input.rcpts[0].remote_mta == "mx.remote.test");
  CHECK(d.input.rcpts[0].diagnostic.find("User unknown") != std::string::npos);
}

TEST_CASE("never a DSN to the null sender or about a notice of ours", "[queue][outcome]") {
  auto c = make_cfg();
  auto null_sender = attempt(1, "x@remote.test", smtp::Reply(550, "5.1.1", "User unknown"), 60, 0, "");
  auto p = decide_outcome(c, {null_sender}, info(), kNow);
  CHECK(p.bounced == 1);
  CHECK(p.changes[0].op == Op::remove);
  CHECK(p.dsns.empty());
  auto ours = attempt(2, "x@remote.test", smtp::Reply(550, "5.1.1", "User unknown"));
  ours.entry.flags = store::kQueueIsBounce;
  p = decide_outcome(c, {ours}, info(), kNow);
  CHECK(p.bounced == 1);
  CHECK(p.dsns.empty());
  // Nor a delay notice.
  auto old_null = attempt(3, "x@remote.test", smtp::Reply(451, "4.3.0", "later"), 5 * 3600, 3, "");
  p = decide_outcome(c, {old_null}, info(), kNow);
  CHECK(p.deferred == 1);
  CHECK(p.dsns.empty());
  CHECK(p.changes[0].set_flags == 0);
}

TEST_CASE("4xx past max_age bounces with 4.4.7 and says it gave up", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(5, "x@remote.test", smtp::Reply(451, "4.4.1", "connect: refused"), 5 * 86400, 20)},
                          info(), kNow);
  CHECK(p.changes[0].op == Op::remove);
  CHECK(p.bounced == 1);
  CHECK(p.events[0].detail.find("(expired)") != std::string::npos);
  REQUIRE(p.dsns.size() == 1);
  CHECK(p.dsns[0].input.rcpts[0].status == "4.4.7");
  CHECK(p.dsns[0].input.rcpts[0].diagnostic.find("gave up after 120 h") != std::string::npos);
  // One second younger: still a retry.
  p = decide_outcome(c, {attempt(5, "x@remote.test", smtp::Reply(451, "4.4.1", "refused"), 5 * 86400 - 1, 20)}, info(), kNow);
  CHECK(p.changes[0].op == Op::reschedule);
}

TEST_CASE("one delay notice after delay_notice, flagged so it is not repeated", "[queue][outcome]") {
  auto c = make_cfg();
  auto young = attempt(6, "x@remote.test", smtp::Reply(451, "4.3.0", "later"), 4 * 3600 - 1, 3);
  auto p = decide_outcome(c, {young}, info(), kNow);
  CHECK(p.dsns.empty());
  auto old = attempt(6, "x@remote.test", smtp::Reply(451, "4.3.0", "later"), 4 * 3600, 3);
  p = decide_outcome(c, {old}, info(), kNow);
  CHECK(p.changes[0].op == Op::reschedule);
  CHECK(p.changes[0].set_flags == store::kQueueDelayNotified);
  REQUIRE(p.dsns.size() == 1);
  CHECK(p.dsns[0].input.rcpts[0].action == DsnAction::delayed);
  CHECK(p.dsns[0].input.retry_until == static_cast<std::time_t>(old.entry.created) + 5 * 86400);
  old.entry.flags = store::kQueueDelayNotified;
  p = decide_outcome(c, {old}, info(), kNow);
  CHECK(p.dsns.empty());
  CHECK(p.changes[0].set_flags == 0);
  // delay_notice = 0: never.
  c.outbound.delay_notice = std::chrono::seconds(0);
  old.entry.flags = 0;
  p = decide_outcome(c, {old}, info(), kNow);
  CHECK(p.dsns.empty());
}

TEST_CASE("NOTIFY decides which notices are sent (RFC 3461 4.1)", "[queue][outcome]") {
  auto c = make_cfg();
  auto never = attempt(1, "x@remote.test", smtp::Reply(550, "5.1.1", "User unknown"));
  never.entry.dsn.notify = "NEVER";
  CHECK(decide_outcome(c, {never}, info(), kNow).dsns.empty());
  auto success_only = attempt(2, "x@remote.test", smtp::Reply(550, "5.1.1", "User unknown"));
  success_only.entry.dsn.notify = "SUCCESS";
  CHECK(decide_outcome(c, {success_only}, info(), kNow).dsns.empty());
  auto delay_only = attempt(3, "x@remote.test", smtp::Reply(451, "4.3.0", "later"), 5 * 3600);
  delay_only.entry.dsn.notify = "delay";  // case-insensitive
  auto p = decide_outcome(c, {delay_only}, info(), kNow);
  REQUIRE(p.dsns.size() == 1);
  CHECK(p.dsns[0].input.rcpts[0].action == DsnAction::delayed);
  // SUCCESS to a peer without DSN: a "relayed" notice; with DSN support: none (the
  // peer takes over).
  auto relayed = attempt(4, "x@remote.test", smtp::Reply(250, "2.0.0", "ok"));
  relayed.entry.dsn.notify = "SUCCESS,FAILURE";
  relayed.entry.dsn.orcpt = "rfc822;X@remote.test";
  relayed.entry.dsn.envid = "E1";
  relayed.entry.dsn.ret = "hdrs";
  relayed.relayed_without_dsn = true;
  p = decide_outcome(c, {relayed}, info(), kNow);
  CHECK(p.delivered == 1);
  REQUIRE(p.dsns.size() == 1);
  CHECK(p.dsns[0].input.rcpts[0].action == DsnAction::relayed);
  CHECK(p.dsns[0].input.rcpts[0].orcpt == "rfc822;X@remote.test");
  CHECK(p.dsns[0].input.envid == "E1");
  CHECK(p.dsns[0].input.ret == "HDRS");
  relayed.relayed_without_dsn = false;
  CHECK(decide_outcome(c, {relayed}, info(), kNow).dsns.empty());
  // No NOTIFY and relayed: the default is FAILURE,DELAY, so no success notice.
  relayed.entry.dsn.notify.clear();
  relayed.relayed_without_dsn = true;
  CHECK(decide_outcome(c, {relayed}, info(), kNow).dsns.empty());
}

TEST_CASE("several recipients of one message: per-recipient changes, one DSN per kind", "[queue][outcome]") {
  auto c = make_cfg();
  std::vector<RcptAttempt> rs = {
      attempt(1, "ok@remote.test", smtp::Reply(250, "2.0.0", "ok"), 5 * 3600),
      attempt(2, "gone@remote.test", smtp::Reply(550, "5.1.1", "User unknown"), 5 * 3600),
      attempt(3, "gone2@remote.test", smtp::Reply(554, "5.7.1", "Relay denied"), 5 * 3600),
      attempt(4, "later@remote.test", smtp::Reply(452, "4.2.2", "Mailbox full"), 5 * 3600),
  };
  auto p = decide_outcome(c, rs, info(), kNow);
  REQUIRE(p.changes.size() == 4);
  CHECK(p.changes[0].op == Op::remove);
  CHECK(p.changes[1].op == Op::remove);
  CHECK(p.changes[2].op == Op::remove);
  CHECK(p.changes[3].op == Op::reschedule);
  CHECK(p.changes[3].set_flags == store::kQueueDelayNotified);
  CHECK(p.delivered == 1);
  CHECK(p.bounced == 2);
  CHECK(p.deferred == 1);
  REQUIRE(p.events.size() == 4);
  REQUIRE(p.dsns.size() == 2);  // failed (2 recipients) + delayed (1)
  const DsnJob* failed = nullptr;
  const DsnJob* delayed = nullptr;
  for (const auto& d : p.dsns) (d.input.rcpts.front().action == DsnAction::failed ? failed : delayed) = &d;
  REQUIRE(failed);
  REQUIRE(delayed);
  REQUIRE(failed->input.rcpts.size() == 2);
  CHECK(failed->input.rcpts[0].final_recipient == "gone@remote.test");
  CHECK(failed->input.rcpts[1].final_recipient == "gone2@remote.test");
  CHECK(failed->input.rcpts[1].status == "5.7.1");
  REQUIRE(delayed->input.rcpts.size() == 1);
  CHECK(delayed->input.rcpts[0].final_recipient == "later@remote.test");
  CHECK(delayed->input.rcpts[0].status == "4.2.2");
}

TEST_CASE("a reply without an enhanced code gets the class's status", "[queue][outcome]") {
  auto c = make_cfg();
  auto p = decide_outcome(c, {attempt(1, "x@remote.test", smtp::Reply(550, "", "no"))}, info(), kNow);
  REQUIRE(p.dsns.size() == 1);
  CHECK(p.dsns[0].input.rcpts[0].status == "5.0.0");
}
