// Store features the IMAP daemon needs: range reads, the parsed-structure cache,
// keywords per mailbox, HIGHESTMODSEQ lookups for the change notifier.
#include <catch2/catch.hpp>

#include <string>

#include "store_fixture.hpp"
#include "tern/mime/cache.hpp"

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

TEST_CASE("parsed-structure cache beside the blob: put, get, replace, dropped with the blob", "[store][blobmeta]") {
  Fixture f;
  std::string msg =
      "From: a@example.test\r\nSubject: cached\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
  auto d = f.deliver(f.alice, msg);
  CHECK(f.store->get_blob_meta(d.blob)->has_value() == false);
  auto c = tern::mime::build_cached(msg);
  std::string bytes = tern::mime::serialize(c);
  REQUIRE(f.store->put_blob_meta({{d.blob, bytes}, {987654, "unknown blob: skipped"}}));
  auto got = f.store->get_blob_meta(d.blob);
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK(**got == bytes);
  auto back = tern::mime::deserialize(**got);
  REQUIRE(back);
  CHECK(back->body_structure == c.body_structure);
  CHECK(back->envelope == c.envelope);
  CHECK(back->message.root.children.size() == 2);
  CHECK(back->message.root.children[1].body_begin == c.message.root.children[1].body_begin);
  // A big entry spans many chunks; replacing shrinks it.
  std::string big(5000, 'x');
  REQUIRE(f.store->put_blob_meta({{d.blob, big}}));
  CHECK(**f.store->get_blob_meta(d.blob) == big);
  REQUIRE(f.store->put_blob_meta({{d.blob, "small"}}));
  CHECK(**f.store->get_blob_meta(d.blob) == "small");
  CHECK(f.store->put_blob_meta({{d.blob, std::string(Store::kMaxBlobMeta + 1, 'y')}}).error() == Errc::invalid_argument);
  f.require_clean();
  // Expunging the last reference drops the cache with the body.
  REQUIRE(f.store->expunge(d.targets[0].mailbox, std::nullopt, false));
  CHECK(f.store->get_blob_meta(d.blob)->has_value() == false);
  f.require_clean();
}

TEST_CASE("keywords per mailbox: grow with STORE, APPEND and COPY, bounded", "[store][keywords]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  CHECK(f.store->get_mailbox(inbox)->keywords.empty());
  auto d = f.deliver(f.alice, "m1");
  FlagUpdate up;
  up.op = FlagUpdate::Op::add;
  up.keywords = {"$Forwarded", "Work"};
  REQUIRE(f.store->set_flags(inbox, {{d.targets[0].uid, d.targets[0].uid}}, up));
  CHECK(f.store->get_mailbox(inbox)->keywords == std::vector<std::string>{"$Forwarded", "Work"});
  up.keywords = {"work", "Later"};  // case-insensitive: "work" is known
  REQUIRE(f.store->set_flags(inbox, {{1, 1}}, up));
  CHECK(f.store->get_mailbox(inbox)->keywords == std::vector<std::string>{"$Forwarded", "Work", "Later"});
  up.op = FlagUpdate::Op::remove;
  REQUIRE(f.store->set_flags(inbox, {{1, 1}}, up));  // removing never shrinks the list
  CHECK(f.store->get_mailbox(inbox)->keywords.size() == 3);
  // A delivery with keywords (APPEND with flags) registers them.
  DeliveryRequest r;
  r.body = "m2";
  DeliveryTarget t{f.alice, "Sent"};
  t.keywords = "$MDNSent Work";
  r.targets.push_back(t);
  REQUIRE(f.store->deliver(r));
  auto sent = f.store->get_mailbox(f.alice, "Sent");
  CHECK(sent->keywords == std::vector<std::string>{"$MDNSent", "Work"});
  // COPY carries them to the destination.
  auto archive = f.store->get_mailbox(f.alice, "Archive");
  REQUIRE(f.store->copy_messages(sent->id, {{1, 1}}, archive->id));
  CHECK(f.store->get_mailbox(archive->id)->keywords == std::vector<std::string>{"$MDNSent", "Work"});
  // The bound: a STORE that would pass it fails and changes nothing.
  std::vector<std::string> many;
  for (std::size_t i = 0; i < kMaxMailboxKeywords; ++i) many.push_back("k" + std::to_string(i));
  FlagUpdate lots;
  lots.op = FlagUpdate::Op::add;
  lots.keywords = many;
  auto before = f.store->get_message(inbox, 1)->modseq;
  CHECK(f.store->set_flags(inbox, {{1, 1}}, lots).error() == Errc::not_permitted);
  CHECK(f.store->get_message(inbox, 1)->modseq == before);
  CHECK(f.store->get_mailbox(inbox)->keywords.size() == 3);
  f.require_clean();
}

TEST_CASE("highest_modseqs reads every mailbox in one snapshot", "[store][notify]") {
  Fixture f;
  MailboxId inbox = f.inbox(f.alice);
  auto sent = f.store->get_mailbox(f.alice, "Sent")->id;
  f.deliver(f.alice, "x");
  auto snap = f.store->highest_modseqs({inbox, 424242, sent});
  REQUIRE(snap);
  REQUIRE(snap->values.size() == 3);
  CHECK(snap->values[0] == f.store->get_mailbox(inbox)->highestmodseq);
  CHECK(!snap->values[1]);
  CHECK(snap->values[2] == f.store->get_mailbox(sent)->highestmodseq);
  CHECK(snap->txn == f.store->last_commit());
}
