// mta::AnswerCache: answers kept for their TTL (capped), negative answers briefly,
// temperrors never; bounded; the TTL served counts down.
#include <catch2/catch.hpp>

#include "checks/answer_cache.hpp"

using namespace tern;
using checks::DnsAnswer;
using checks::DnsQuestion;
using checks::DnsStatus;
using checks::RrType;
using std::chrono::seconds;

namespace {
DnsAnswer ok(std::string text, std::uint32_t ttl) {
  DnsAnswer a{DnsStatus::ok, {{std::move(text), 0}}};
  a.ttl = ttl;
  return a;
}
DnsAnswer neg(DnsStatus s, std::uint32_t ttl) {
  DnsAnswer a{s, {}};
  a.ttl = ttl;
  return a;
}
}  // namespace

TEST_CASE("answer cache: kept for the answer's TTL, capped", "[checks][answercache]") {
  mta::AnswerCache::Limits lim;
  lim.max_ttl = seconds(300);
  lim.max_negative_ttl = seconds(60);
  mta::AnswerCache c(lim);
  const auto t0 = mta::AnswerCache::Clock::now();
  const DnsQuestion q{"example.com", RrType::txt};
  c.store(q, ok("v=spf1 -all", 30), t0);
  auto a = c.find(q, t0 + seconds(10));
  REQUIRE(a);
  CHECK(a->status == DnsStatus::ok);
  CHECK(a->records.at(0).text == "v=spf1 -all");
  CHECK(a->ttl == 20);  // counts down
  CHECK_FALSE(c.find(q, t0 + seconds(30)));  // expired
  CHECK(c.size() == 0);
  // The same name under another type is another question.
  c.store(q, ok("v=spf1 -all", 86400), t0);
  CHECK_FALSE(c.find(DnsQuestion{"example.com", RrType::a}, t0));
  CHECK(c.find(q, t0 + seconds(299)));
  CHECK_FALSE(c.find(q, t0 + seconds(300)));  // the cap, not the day of the record
}

TEST_CASE("answer cache: negative briefly, temperror and TTL 0 never", "[checks][answercache]") {
  mta::AnswerCache c;
  const auto t0 = mta::AnswerCache::Clock::now();
  const DnsQuestion nx{"nx.example.com", RrType::txt}, nd{"nd.example.com", RrType::txt},
      tf{"tf.example.com", RrType::txt}, zero{"zero.example.com", RrType::txt};
  c.store(nx, neg(DnsStatus::nxdomain, 3600), t0);
  c.store(nd, neg(DnsStatus::nodata, 5), t0);
  c.store(tf, neg(DnsStatus::temperror, 300), t0);
  c.store(zero, ok("x", 0), t0);
  REQUIRE(c.find(nx, t0 + seconds(59)));
  CHECK(c.find(nx, t0 + seconds(59))->status == DnsStatus::nxdomain);
  CHECK_FALSE(c.find(nx, t0 + seconds(60)));  // 60 s cap for negative answers
  CHECK(c.find(nd, t0 + seconds(4)));
  CHECK_FALSE(c.find(nd, t0 + seconds(5)));
  CHECK_FALSE(c.find(tf, t0));
  CHECK_FALSE(c.find(zero, t0));
}

TEST_CASE("answer cache: a new answer replaces the old; bounded", "[checks][answercache]") {
  mta::AnswerCache::Limits lim;
  lim.entries = 3;
  mta::AnswerCache c(lim);
  const auto t0 = mta::AnswerCache::Clock::now();
  auto q = [](int i) { return DnsQuestion{"n" + std::to_string(i) + ".example.com", RrType::txt}; };
  c.store(q(0), ok("old", 100), t0);
  c.store(q(0), ok("new", 100), t0);
  CHECK(c.find(q(0), t0)->records.at(0).text == "new");
  CHECK(c.size() == 1);
  c.store(q(1), ok("1", 100), t0);
  c.store(q(2), ok("2", 100), t0);
  CHECK(c.find(q(0), t0));  // q(1) is now the least recently used
  c.store(q(3), ok("3", 100), t0);
  CHECK(c.size() == 3);
  CHECK_FALSE(c.find(q(1), t0));
  CHECK(c.find(q(0), t0));
  CHECK(c.find(q(2), t0));
  CHECK(c.find(q(3), t0));
}
