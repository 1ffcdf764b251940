// RecordDeadline: Postfix-style per-record deadline for DATA lines and BDAT octets.
#include <catch2/catch.hpp>

#include "data_deadline.hpp"

using tern::mta::RecordDeadline;
using namespace std::chrono_literals;

TEST_CASE("DATA: each line renews the deadline, trickled bytes do not", "[smtp][deadline]") {
  const auto t0 = RecordDeadline::Clock::time_point{} + 1000s;
  RecordDeadline d(10s, 1000, true, t0);
  CHECK(d.deadline() == t0 + 10s);
  // A byte a second without a line end: the deadline stays where it was.
  for (int i = 1; i <= 9; ++i) d.arrived("x", t0 + std::chrono::seconds(i));
  CHECK(d.deadline() == t0 + 10s);
  CHECK(d.remaining(t0 + 9s) == 1s);
  CHECK(d.expired(t0 + 10s));
  // A line end renews it from the time it arrived.
  d.arrived("end\r\nnext", t0 + 9s);
  CHECK(d.deadline() == t0 + 19s);
  // Whatever the content, 1000 octets are a record.
  d.arrived(std::string(995, 'y'), t0 + 12s);
  CHECK(d.deadline() == t0 + 19s);  // 4 + 995 = 999 octets: not yet
  d.arrived("z", t0 + 13s);
  CHECK(d.deadline() == t0 + 23s);
}

TEST_CASE("BDAT: the deadline scales with the octets received", "[smtp][deadline]") {
  const auto t0 = RecordDeadline::Clock::time_point{} + 1000s;
  RecordDeadline d(10s, 1000, false, t0);
  d.arrived("\n\n\n", t0 + 1s);  // no lines in BDAT
  CHECK(d.deadline() == t0 + 10s);
  d.arrived(std::string(2500, 'a'), t0 + 5s);
  CHECK(d.deadline() == t0 + 15s);
  d.arrived(std::string(496, 'a'), t0 + 6s);  // 3 + 2500 = 2 records + 503; + 496 = 999
  CHECK(d.deadline() == t0 + 15s);
  d.arrived("a", t0 + 7s);
  CHECK(d.deadline() == t0 + 17s);
}
