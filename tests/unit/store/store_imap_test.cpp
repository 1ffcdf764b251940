// Store features the IMAP daemon needs: range reads, the parsed-structure cache,
// keywords per mailbox, HIGHESTMODSEQ lookups for the change notifier.
#include <catch2/catch.hpp>

#include <string>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;

namespace {
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 500) % 26);
  return s;
}
std::string range(Store& s, MailboxId mb, Uid uid, std::uint64_t off, std::uint64_t len, std::size_t* calls = nullptr) {
  std::string out;
  std::size_t n = 0;
  auto r = s.read_message_range(mb, uid, off, len, [&](std::string_view c) {
    out.append(c);
    ++n;
    return true;
  });
  REQUIRE(r);
  if (calls) *calls = n;
  return out;
}
}  // namespace

TEST_CASE("read_message_range returns exactly the requested octets", "[store][range]") {
  Fixture f;
  std::string body = pattern(100000);
  auto d = f.deliver(f.alice, body);
  MailboxId mb = d.targets[0].mailbox;
  Uid uid = d.targets[0].uid;
  for (std::uint64_t off : {0ull, 1ull, 487ull, 488ull, 489ull, 976ull, 50000ull, 99999ull}) {
    for (std::uint64_t len : {0ull, 1ull, 487ull, 488ull, 1000ull, 200000ull}) {
      INFO(off << " " << len);
      CHECK(range(*f.store, mb, uid, off, len) == body.substr(off, len));
    }
  }
  CHECK(range(*f.store, mb, uid, 100000, 10).empty());
  CHECK(range(*f.store, mb, uid, 5000000, 10).empty());
  CHECK(range(*f.store, mb, uid, 0, Store::kToEnd) == body);
  // It seeks: a late small range touches one or two chunks, not the ~200 before it.
  std::size_t calls = 0;
  CHECK(range(*f.store, mb, uid, 99000, 100, &calls) == body.substr(99000, 100));
  CHECK(calls <= 2);
  CHECK(f.store->read_message_range(mb, 999, 0, 1, [](std::string_view) { return true; }).error() == Errc::not_found);
  std::string blob_part;
  REQUIRE(f.store->read_blob_range(d.blob, 10, 20, [&](std::string_view c) {
    blob_part.append(c);
    return true;
  }));
  CHECK(blob_part == body.substr(10, 20));
  // A body shorter than one chunk.
  auto small = f.deliver(f.alice, "tiny body");
  CHECK(range(*f.store, mb, small.targets[0].uid, 5, 100) == "body");
}
