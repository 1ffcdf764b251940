// POP3/IMAP consistency (issue 8) at the Pop3Service level, over a real LMDB store:
// a message expunged through Store::expunge (as IMAP does) after a POP3 snapshot is
// reported as gone (not_found, nothing encoded), UPDATE deletions that include it still
// commit the others, and the survivors keep their UIDL.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tern/pop3/message_encoder.hpp"
#include "tern/pop3d/service.hpp"
#include "../store/store_fixture.hpp"

using namespace tern;
namespace fs = std::filesystem;

namespace {

using TempDir = tern::store::test::TempDir;  // tests/unit/store/store_fixture.hpp

store::Uid deliver_one(store::Store& s, store::AccountId account, const std::string& body) {
  store::DeliveryRequest req;
  req.body = body;
  store::DeliveryTarget tg;
  tg.account = account;
  req.targets.push_back(tg);
  auto r = s.deliver(req);
  REQUIRE(r);
  REQUIRE_FALSE(r->targets[0].error);
  return r->targets[0].uid;
}

std::vector<std::string> uidls(const pop3d::Maildrop& md) {
  std::vector<std::string> out;
  for (const auto& m : md.messages) out.push_back(m.uidl);
  return out;
}

}  // namespace

TEST_CASE("Pop3Service: a store expunge after the snapshot is seen as gone", "[pop3d][service][consistency]") {
  TempDir t;
  auto st = store::Store::open(t.path);
  REQUIRE(st);
  auto& s = **st;
  REQUIRE(s.add_domain("example.test"));
  store::NewAccount na;
  na.address = "u@example.test";
  na.password_hash = "$6$salt$x";
  auto id = s.add_account(na);
  REQUIRE(id);
  std::vector<store::Uid> uids;
  for (int i = 0; i < 4; ++i)
    uids.push_back(deliver_one(s, *id, "Subject: m" + std::to_string(i) + "\r\n\r\nbody " + std::to_string(i) + "\r\n"));

  config::Config cfg;
  cfg.data_dir = t.path;
  pop3d::Pop3Service svc(cfg, s);
  auto o = svc.open_maildrop(*id);
  REQUIRE(o.status == pop3d::OpenStatus::Ok);
  REQUIRE(o.maildrop.messages.size() == 4);
  auto inbox = s.get_mailbox(*id, "INBOX");
  REQUIRE(inbox);
  // UIDL is the IMAP identity of the message: INBOX's UIDVALIDITY and the UID.
  CHECK(o.maildrop.uidvalidity == inbox->uidvalidity);
  for (std::size_t i = 0; i < uids.size(); ++i)
    CHECK(o.maildrop.messages[i].uidl == std::to_string(inbox->uidvalidity) + "." + std::to_string(uids[i]));
  const auto first_uidls = uidls(o.maildrop);

  // IMAP expunges the second message while the POP3 session holds its snapshot.
  auto ex = s.expunge(o.maildrop.inbox, store::UidSet{store::UidRange{uids[1], uids[1]}}, false);
  REQUIRE(ex);
  REQUIRE(*ex == std::vector<store::Uid>{uids[1]});

  // RETR of it: not_found before a byte is produced (the driver answers -ERR).
  pop3::MessageEncoder enc;
  std::string out;
  auto sr = svc.encode_segment(o.maildrop.inbox, uids[1], 0, enc, out, 4096);
  CHECK(sr.error == store::Errc::not_found);
  CHECK(out.empty());
  CHECK(sr.consumed == 0);
  // The others still read.
  pop3::MessageEncoder enc2;
  std::string out2;
  auto ok = svc.encode_segment(o.maildrop.inbox, uids[2], 0, enc2, out2, 1 << 20);
  CHECK_FALSE(ok.error);
  CHECK(ok.end);
  CHECK(out2.find("body 2") != std::string::npos);

  // UPDATE with DELE of the expunged one and of the first: the existing one is removed,
  // the vanished one is simply not there any more; no error.
  auto upd = svc.expunge(o.maildrop.inbox, {uids[0], uids[1]});
  REQUIRE(upd);
  CHECK(*upd == std::vector<store::Uid>{uids[0]});
  o.maildrop.lock.release();

  // A new session lists the survivors with their old UIDLs; a new message gets a new,
  // higher UID (never reused) under the same UIDVALIDITY.
  auto o2 = svc.open_maildrop(*id);
  REQUIRE(o2.status == pop3d::OpenStatus::Ok);
  CHECK(uidls(o2.maildrop) == std::vector<std::string>{first_uidls[2], first_uidls[3]});
  o2.maildrop.lock.release();
  auto u5 = deliver_one(s, *id, "Subject: m4\r\n\r\nbody 4\r\n");
  CHECK(u5 > uids[3]);
  auto o3 = svc.open_maildrop(*id);
  REQUIRE(o3.status == pop3d::OpenStatus::Ok);
  CHECK(uidls(o3.maildrop) == std::vector<std::string>{first_uidls[2], first_uidls[3],
                                                        pop3d::make_uidl(inbox->uidvalidity, u5)});
}
