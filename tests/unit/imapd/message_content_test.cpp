// MessageContent (imapd): what FETCH/SEARCH/SORT read of a stored message. Every
// section read by range, from the header alone or from the per-body structure cache
// must equal what tern::mime gives over the whole message; the structure is parsed
// once per body, then taken from the store's cache (the counters show it).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../store/store_fixture.hpp"
#include "message_content.hpp"
#include "tern/mime/imap.hpp"
#include "tern/mime/section.hpp"

using namespace tern;
using tern::imapd::MessageContent;
using tern::imapd::MimeCache;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

imap::Section sec(std::vector<std::uint32_t> part, imap::Section::Spec spec = imap::Section::Spec::None,
                  std::vector<std::string> fields = {}) {
  imap::Section s;
  s.part = std::move(part);
  s.spec = spec;
  s.fields = std::move(fields);
  return s;
}

mime::Section to_mime(const imap::Section& s) {
  using Spec = imap::Section::Spec;
  using T = mime::Section::Text;
  mime::Section m;
  m.part = s.part;
  m.fields = s.fields;
  switch (s.spec) {
    case Spec::None: m.text = T::none; break;
    case Spec::Header: m.text = T::header; break;
    case Spec::HeaderFields: m.text = T::header_fields; break;
    case Spec::HeaderFieldsNot: m.text = T::header_fields_not; break;
    case Spec::Text: m.text = T::text; break;
    case Spec::Mime: m.text = T::mime; break;
  }
  return m;
}

std::vector<imap::Section> sections() {
  using Spec = imap::Section::Spec;
  std::vector<imap::Section> v;
  v.push_back(sec({}));
  v.push_back(sec({}, Spec::Header));
  v.push_back(sec({}, Spec::Text));
  v.push_back(sec({}, Spec::HeaderFields, {"SUBJECT", "FROM"}));
  v.push_back(sec({}, Spec::HeaderFieldsNot, {"SUBJECT"}));
  for (std::vector<std::uint32_t> p : {std::vector<std::uint32_t>{1}, {2}, {3}, {1, 1}, {1, 2}, {2, 1}, {2, 2}}) {
    v.push_back(sec(p));
    v.push_back(sec(p, Spec::Mime));
    v.push_back(sec(p, Spec::Header));
    v.push_back(sec(p, Spec::Text));
    v.push_back(sec(p, Spec::HeaderFields, {"SUBJECT"}));
  }
  return v;
}

// Compares every read of `mc` with tern::mime over the whole message.
void check_same(const MessageContent& mc, const std::string& msg, const std::string& name) {
  mime::Message m = mime::parse(msg);
  INFO(name);
  CHECK(mc.envelope() == mime::envelope(msg, m.root));
  CHECK(mc.body_structure(true) == mime::body_structure(msg, m.root, true));
  CHECK(mc.body_structure(false) == mime::body_structure(msg, m.root, false));
  for (const auto& s : sections()) {
    INFO("section " << mime::section_name(to_mime(s)));
    CHECK(mc.section(s) == mime::extract_section(msg, m, to_mime(s)));
  }
  for (std::vector<std::uint32_t> p : {std::vector<std::uint32_t>{1}, {2}, {1, 1}, {2, 1}}) {
    std::string err;
    auto got = mc.binary(p, err);
    auto want = mime::extract_binary(msg, m, p);
    if (want.error == mime::BinaryError::none) {
      CHECK(got == want.data);
    } else {
      CHECK_FALSE(got.has_value());
      CHECK((err == "UNKNOWN-CTE") == (want.error == mime::BinaryError::unknown_cte));
    }
  }
  CHECK(mc.header_contains("Subject", "") == m.root.header(msg, "Subject").has_value());
}

}  // namespace

TEST_CASE("MessageContent reads ranges, headers and the cache as tern::mime reads the whole", "[imapd][mime-cache]") {
  store::test::Fixture f;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(TERN_TEST_DATA) / "mime"))
    if (e.path().extension() == ".eml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 5);
  for (const auto& file : files) {
    std::string body = slurp(file);
    auto d = f.deliver(f.alice, body);
    auto mb = d.targets[0].mailbox;
    auto uid = d.targets[0].uid;
    std::string msg = *f.store->read_message_string(mb, uid);  // what the store holds (prefix + body)
    // 1. Nothing cached: ranges and the header read first (a fresh object per read
    // kind, so the header-only paths run before any whole-message parse).
    {
      MimeCache cache;
      auto header_only = MessageContent::load(*f.store, mb, uid, &cache);
      REQUIRE(header_only);
      CHECK(header_only->section(sec({}, imap::Section::Spec::Text)) ==
            mime::extract_section(msg, mime::parse(msg), to_mime(sec({}, imap::Section::Spec::Text))));
      CHECK(header_only->section(sec({}, imap::Section::Spec::HeaderFields, {"SUBJECT", "DATE"})) ==
            mime::extract_section(msg, mime::parse(msg),
                                  to_mime(sec({}, imap::Section::Spec::HeaderFields, {"SUBJECT", "DATE"}))));
      CHECK(cache.parses == 0);
      auto mc = MessageContent::load(*f.store, mb, uid, &cache);
      check_same(*mc, msg, file.filename().string() + " (parsed)");
      CHECK(cache.parses == 1);
      CHECK(cache.cache_hits == 0);
      REQUIRE(cache.pending.size() == 1);
      REQUIRE(f.store->put_blob_meta(cache.pending));
    }
    // 2. Cached: the same answers, no parse.
    {
      MimeCache cache;
      auto mc = MessageContent::load(*f.store, mb, uid, &cache);
      check_same(*mc, msg, file.filename().string() + " (cached)");
      CHECK(cache.parses == 0);
      CHECK(cache.cache_hits == 1);
      CHECK(cache.pending.empty());
    }
  }
  f.require_clean();
}

TEST_CASE("MessageContent: a partial read of a large message reads only its range", "[imapd][range]") {
  store::test::Fixture f;
  std::string body = "Subject: big\r\nFrom: a@example.test\r\n\r\n";
  while (body.size() < (4u << 20)) body += "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\r\n";
  auto d = f.deliver(f.alice, body);
  MimeCache cache;
  auto mc = MessageContent::load(*f.store, d.targets[0].mailbox, d.targets[0].uid, &cache);
  REQUIRE(mc);
  std::string whole = *f.store->read_message_string(d.targets[0].mailbox, d.targets[0].uid);
  std::string part;
  REQUIRE(mc->read_range(1000000, 100, part));
  CHECK(part == whole.substr(1000000, 100));
  bool exists = false;
  auto r = mc->section_range(sec({}, imap::Section::Spec::Text), exists);
  REQUIRE(r);
  CHECK(r->first == whole.find("\r\n\r\n") + 4);
  CHECK(r->second == whole.size());
  // Neither read took the whole message or parsed it.
  CHECK(cache.parses == 0);
  CHECK(mc->header_bytes() == whole.substr(0, r->first));
  CHECK(cache.parses == 0);
}

// imaptest's stress run aborted tern-imapd with "basic_string_view::substr: __pos (24) >
// __size (0)": a session loaded a message, another session (another io thread) expunged
// it, and the next read found nothing while the structure cached for its body (kept by
// a second message with the same body) still held offsets. A message that vanishes
// between two reads answers as empty, never with an exception.
TEST_CASE("MessageContent: a message expunged between reads, its structure still cached, reads as empty",
          "[imapd][mime-cache][vanish]") {
  store::test::Fixture f;
  const std::string body =
      "Date: Tue, 1 Dec 2026 10:00:00 +0100\r\nFrom: Ann <ann@example.test>\r\nSubject: twice\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
  auto d1 = f.deliver(f.alice, body);
  auto d2 = f.deliver(f.alice, body);  // same body: one blob, two references
  auto mb = d1.targets[0].mailbox;
  auto uid1 = d1.targets[0].uid;
  {
    MimeCache cache;
    auto mc = MessageContent::load(*f.store, mb, uid1, &cache);
    REQUIRE(mc);
    (void)mc->envelope();
    REQUIRE(cache.pending.size() == 1);
    REQUIRE(f.store->put_blob_meta(cache.pending));
  }
  using Spec = imap::Section::Spec;
  // Each read kind on a fresh object loaded before the expunge (the cached structure
  // is found, the bytes are gone).
  auto fresh = [&] {
    auto mc = MessageContent::load(*f.store, mb, uid1, nullptr);
    REQUIRE(mc);
    return std::move(*mc);
  };
  std::vector<MessageContent> v;
  for (int i = 0; i < 9; ++i) v.push_back(fresh());
  REQUIRE(f.store->expunge(mb, store::UidSet{{uid1, uid1}}, false));
  CHECK_FALSE(v[0].header_contains("Subject", "twice"));
  CHECK(v[1].sent_date(42) == 42);
  CHECK(v[2].sent_local_date(42) == 42);
  CHECK(v[3].section(sec({}, Spec::HeaderFields, {"SUBJECT"})).value_or("?") == "\r\n");
  CHECK(v[4].section(sec({1}, Spec::Mime)).value_or("") == "");
  CHECK_FALSE(v[5].body_contains("hello"));
  CHECK_FALSE(v[6].text_contains("hello"));
  std::string err;
  CHECK(v[7].binary({1}, err).value_or("") == "");
  CHECK(!v[8].envelope().empty());  // from the cache: the structure is still described
  // The other message with the same body still reads in full.
  auto other = MessageContent::load(*f.store, mb, d2.targets[0].uid, nullptr);
  REQUIRE(other);
  CHECK(other->header_contains("Subject", "twice"));
  f.require_clean();
}
