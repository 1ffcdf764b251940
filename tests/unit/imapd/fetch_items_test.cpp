// FETCH of view items (cmd/fetch_items.hpp): the tight path's lines against the general
// formatting (append_flag_list, items joined by spaces), for every flag combination.
#include <catch2/catch.hpp>

#include "cmd/fetch_items.hpp"

using namespace tern;
using namespace tern::imapd;

namespace {

imap::FetchRequest request(std::initializer_list<imap::FetchAtt::Kind> kinds) {
  imap::FetchRequest r;
  for (auto k : kinds) {
    imap::FetchAtt a;
    a.kind = k;
    r.atts.push_back(a);
  }
  return r;
}

// The line as cmd_fetch's general loop writes it.
std::string reference(const MailboxView& v, std::size_t i, const FetchItemsPlan& plan) {
  const ViewMsg& m = v.msgs[i];
  std::string out = "* " + std::to_string(i + 1) + " FETCH (";
  bool first = true;
  for (auto it : plan.items) {
    if (!first) out += ' ';
    first = false;
    switch (it) {
      case FetchItemsPlan::Item::Flags: out += "FLAGS " + flag_list(m.flags, v.keywords_of(m), m.recent); break;
      case FetchItemsPlan::Item::Uid: out += "UID " + std::to_string(m.uid); break;
      case FetchItemsPlan::Item::ModSeq: out += "MODSEQ (" + std::to_string(m.modseq) + ")"; break;
      case FetchItemsPlan::Item::Size: out += "RFC822.SIZE " + std::to_string(m.size); break;
    }
  }
  return out + ")\r\n";
}

}  // namespace

TEST_CASE("fetch items: the plan keeps the request's order, once each, UID and MODSEQ added", "[imapd][fetch_items]") {
  using K = imap::FetchAtt::Kind;
  using I = FetchItemsPlan::Item;
  FetchItemsPlan p;
  REQUIRE(plan_fetch_items(request({K::Flags}), true, false, p));
  CHECK(p.items == std::vector<I>{I::Flags, I::Uid});
  REQUIRE(plan_fetch_items(request({K::Uid, K::Flags, K::Uid, K::Flags}), true, true, p));
  CHECK(p.items == std::vector<I>{I::Uid, I::Flags, I::ModSeq});
  REQUIRE(plan_fetch_items(request({K::Rfc822Size, K::ModSeq, K::Rfc822Size}), false, true, p));
  CHECK(p.items == std::vector<I>{I::Size, I::ModSeq, I::Size});
  CHECK_FALSE(plan_fetch_items(request({K::Flags, K::Envelope}), true, false, p));
  CHECK_FALSE(plan_fetch_items(request({K::InternalDate}), false, false, p));
}

TEST_CASE("fetch items: every flag combination, \\Recent, keywords and big numbers as the general loop",
          "[imapd][fetch_items]") {
  using K = imap::FetchAtt::Kind;
  MailboxView v;
  const std::vector<std::string> kwlists = {"", "$Work", "$Forwarded Junk later"};
  store::Uid uid = 7;
  for (std::uint32_t flags = 0; flags < 64 + 1; ++flags)  // 64: a bit this table does not know
    for (bool recent : {false, true})
      for (std::size_t k = 0; k < kwlists.size(); ++k) {
        ViewMsg m;
        m.uid = uid;
        m.recent = recent;
        m.modseq = 0xfffffffffffull + uid;
        m.size = 4000000000ull + uid;
        v.msgs.push_back(m);
        store::MessageRecord r;
        r.uid = uid;
        r.flags = flags == 64 ? (1u << 9) | store::kSeen : flags & 0x1f;
        r.modseq = m.modseq;
        r.keywords = kwlists[k];
        v.apply(r);  // sets flags and interns the keyword list
        uid += 1000003;
      }
  const std::vector<imap::FetchRequest> reqs = {request({K::Flags}), request({K::Uid, K::Flags}),
                                                request({K::Flags, K::ModSeq, K::Rfc822Size})};
  for (const auto& req : reqs)
    for (bool uid_cmd : {false, true})
      for (bool modseq : {false, true}) {
        FetchItemsPlan plan;
        REQUIRE(plan_fetch_items(req, uid_cmd, modseq, plan));
        std::string out, want;
        for (std::size_t i = 0; i < v.msgs.size(); ++i) {
          append_fetch_items(out, v, i, plan);
          want += reference(v, i, plan);
        }
        CHECK(out == want);
      }
  std::string one;
  FetchItemsPlan plan;
  REQUIRE(plan_fetch_items(request({K::Flags}), true, false, plan));
  append_fetch_items(one, v, 4, plan);  // flags 0, \Recent, "$Work"
  CHECK(one == "* 5 FETCH (FLAGS (\\Recent $Work) UID " + std::to_string(v.msgs[4].uid) + ")\r\n");
}
