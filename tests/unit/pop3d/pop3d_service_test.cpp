// tern-pop3d pieces with real backends: the flock maildrop lock across processes, and
// Pop3Service over a real LMDB store in a temp dir (snapshot sizes, UIDL, segmented
// encoding, expunge).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tern/pop3/message_encoder.hpp"
#include "tern/pop3d/maildrop_lock.hpp"
#include "tern/pop3d/service.hpp"
#include "../store/store_fixture.hpp"

using namespace tern;
namespace fs = std::filesystem;

namespace {

using TempDir = tern::store::test::TempDir;  // tests/unit/store/store_fixture.hpp

}  // namespace

TEST_CASE("MaildropLock is exclusive across processes and released on exit", "[pop3d][lock]") {
  TempDir t;
  auto dir = t.path / "run" / "pop3-locks";
  pop3d::MaildropLock a;
  std::error_code ec;
  REQUIRE(pop3d::MaildropLock::acquire(dir, 7, a, ec) == pop3d::MaildropLock::Status::Locked);

  // Same process, second open file description: in use.
  pop3d::MaildropLock b;
  CHECK(pop3d::MaildropLock::acquire(dir, 7, b, ec) == pop3d::MaildropLock::Status::InUse);
  CHECK_FALSE(b.held());
  // Another account is independent.
  pop3d::MaildropLock c;
  CHECK(pop3d::MaildropLock::acquire(dir, 8, c, ec) == pop3d::MaildropLock::Status::Locked);

  // A child process sees it locked (exit code 1 = InUse).
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    pop3d::MaildropLock l;
    std::error_code e;
    auto st = pop3d::MaildropLock::acquire(dir, 7, l, e);
    ::_exit(st == pop3d::MaildropLock::Status::InUse ? 1 : 2);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WEXITSTATUS(status) == 1);

  // A child that takes the lock and dies without releasing: the kernel drops it.
  a.release();
  pid = ::fork();
  if (pid == 0) {
    pop3d::MaildropLock l;
    std::error_code e;
    auto st = pop3d::MaildropLock::acquire(dir, 7, l, e);
    if (st != pop3d::MaildropLock::Status::Locked) ::_exit(3);
    ::raise(SIGKILL);
  }
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(pop3d::MaildropLock::acquire(dir, 7, b, ec) == pop3d::MaildropLock::Status::Locked);
}

TEST_CASE("Pop3Service: snapshot, exact sizes, segmented RETR, expunge", "[pop3d][service]") {
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

  const std::string bodies[] = {
      "Subject: a\r\n\r\nhello\r\n",
      "Subject: lf\n\n.dot\nno newline",
      "Subject: big\r\n\r\n" + std::string(300000, 'x') + "\r\n.\r\n" + std::string(1000, 'y'),
  };
  std::vector<store::Uid> uids;
  for (const auto& b : bodies) {
    store::DeliveryRequest req;
    req.body = b;
    store::DeliveryTarget tg;
    tg.account = *id;
    req.targets.push_back(tg);
    auto r = s.deliver(req);
    REQUIRE(r);
    REQUIRE_FALSE(r->targets[0].error);
    uids.push_back(r->targets[0].uid);
  }

  config::Config cfg;
  cfg.data_dir = t.path;
  pop3d::Pop3Service svc(cfg, s);
  auto o = svc.open_maildrop(*id);
  REQUIRE(o.status == pop3d::OpenStatus::Ok);
  REQUIRE(o.maildrop.messages.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& m = o.maildrop.messages[i];
    CHECK(m.uid == uids[i]);
    CHECK(m.size == pop3::pop3_size(bodies[i]));
    CHECK(m.uidl == pop3d::make_uidl(o.maildrop.uidvalidity, uids[i]));
  }
  // A second session on the same account: in use while the first holds the lock.
  auto o2 = svc.open_maildrop(*id);
  CHECK(o2.status == pop3d::OpenStatus::InUse);

  // Segmented encoding (small segments force the skip path) equals one-shot encoding.
  for (std::size_t i = 0; i < 3; ++i) {
    std::string whole;
    pop3::MessageEncoder ew;
    ew.feed(bodies[i], whole);
    ew.finish(whole);
    for (std::size_t limit : {std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
      pop3::MessageEncoder enc;
      std::string out, seg;
      std::uint64_t skip = 0;
      for (int guard = 0; guard < 100000; ++guard) {
        seg.clear();
        auto sr = svc.encode_segment(o.maildrop.inbox, uids[i], skip, enc, seg, limit);
        REQUIRE_FALSE(sr.error);
        out += seg;
        skip += sr.consumed;
        if (sr.end) break;
      }
      enc.finish(out);
      CHECK(out == whole);
    }
  }
  // A missing UID is reported, not crashed on.
  pop3::MessageEncoder enc;
  std::string out;
  auto bad = svc.encode_segment(o.maildrop.inbox, 9999, 0, enc, out, 4096);
  CHECK(bad.error);

  // UPDATE: expunge two, one transaction; the survivor keeps its UID.
  auto ex = svc.expunge(o.maildrop.inbox, {uids[0], uids[2]});
  REQUIRE(ex);
  CHECK(ex->size() == 2);
  o.maildrop.lock.release();
  auto o3 = svc.open_maildrop(*id);
  REQUIRE(o3.status == pop3d::OpenStatus::Ok);
  REQUIRE(o3.maildrop.messages.size() == 1);
  CHECK(o3.maildrop.messages[0].uid == uids[1]);
  CHECK(o3.maildrop.messages[0].size == pop3::pop3_size(bodies[1]));
}
