// Store across processes: SIGKILL crash safety, concurrent writers, change notification.
// The other side is the `store_test_child` helper (tests/unit/store/store_child.cpp),
// found next to this test binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::TempDir;

namespace {

std::filesystem::path child_binary() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "store_test_child";
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
  std::string buf;

  explicit Child(std::vector<std::string> args) {
    REQUIRE(std::filesystem::exists(child_binary()));
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::string bin = child_binary().string();
      std::vector<char*> argv{bin.data()};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out = fds[0];
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
  // Reads what is available within timeout_ms; false on EOF.
  bool read_some(int timeout_ms) {
    pollfd p{out, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char tmp[4096];
    ssize_t n = ::read(out, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  void read_all() {
    while (read_some(5000)) {
    }
  }
  // Complete lines only (a line cut by SIGKILL is not an acknowledgement).
  std::vector<std::string> lines() const {
    std::vector<std::string> out_lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
      out_lines.push_back(buf.substr(start, nl - start));
    return out_lines;
  }
  int wait() {
    int st = 0;
    ::waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  void kill9() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

void make_store(const std::filesystem::path& dir) {
  auto s = Store::open(dir);
  REQUIRE(s);
  REQUIRE((*s)->add_domain("example.test"));
  REQUIRE((*s)->add_account(NewAccount{"a@example.test", "", std::nullopt, {}, true}));
}

}  // namespace

TEST_CASE("SIGKILL at random moments loses no acknowledged delivery", "[store][process][crash]") {
  TempDir dir;
  make_store(dir.path);
  std::mt19937 rng(12345);
  std::set<std::string> acked;
  auto start = std::chrono::steady_clock::now();
  int kills = 0;
  for (int round = 0; round < 30 && std::chrono::steady_clock::now() - start < std::chrono::seconds(50); ++round) {
    std::string tag = "r" + std::to_string(round);
    Child c({"deliver", dir.path.string(), "0", tag});
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30 + rng() % 200);
    while (std::chrono::steady_clock::now() < until)
      if (!c.read_some(10)) break;
    c.kill9();
    ++kills;
    c.read_all();
    for (auto& l : c.lines()) acked.insert(tag + "-" + l.substr(0, l.find(' ')));
  }
  CHECK(kills >= 20);
  REQUIRE(acked.size() > 30);
  auto s = Store::open(dir.path);
  REQUIRE(s);
  auto acct = (*s)->get_account("a@example.test");
  auto inbox = (*s)->get_mailbox(acct->id, "INBOX");
  std::map<std::string, int> found;
  std::vector<Uid> uids;
  REQUIRE((*s)->for_each_message(inbox->id, {}, [&](const MessageMeta& m) {
    uids.push_back(m.uid);
    return true;
  }));
  for (Uid u : uids) found[*(*s)->read_message_string(inbox->id, u)] += 1;
  for (auto& a : acked) {
    INFO(a);
    CHECK(found[a] == 1);
  }
  for (auto& [body, n] : found) CHECK(n == 1);
  auto issues = (*s)->check(false);
  REQUIRE(issues);
  for (auto& i : *issues) UNSCOPED_INFO(i.what);
  CHECK(issues->empty());
  WARN("crash test: " << kills << " kills, " << acked.size() << " acknowledged deliveries, " << uids.size()
                      << " stored");
}

TEST_CASE("a duplicate-safe commit (update_queue) survives kill -9 of the committer", "[store][process][crash]") {
  // update_queue skips LMDB's meta-page sync (store.hpp): the commit is in the page
  // cache, which a process crash does not touch, so another process sees it at once and
  // after the committer is killed, and the store stays intact.
  TempDir dir;
  make_store(dir.path);
  std::set<QueueId> queued;
  {
    auto s = Store::open(dir.path);
    REQUIRE(s);
    for (int i = 0; i < 40; ++i) {
      DeliveryRequest r;
      r.body = "Subject: q" + std::to_string(i) + "\r\n\r\nbody\r\n";
      OutboundEntry e;
      e.sender = "a@example.test";
      e.recipient = "x" + std::to_string(i) + "@remote.test";
      r.outbound.push_back(e);
      auto ids = (*s)->enqueue(r);
      REQUIRE(ids);
      queued.insert(ids->front());
    }
  }
  Child c({"dequeue", dir.path.string(), "-"});
  std::set<QueueId> acked;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.lines().size() < queued.size() && std::chrono::steady_clock::now() < deadline)
    if (!c.read_some(100)) break;
  c.kill9();
  c.read_all();
  for (auto& l : c.lines()) acked.insert(std::stoull(l));
  REQUIRE(acked.size() == queued.size());  // every commit returned before the kill
  auto s = Store::open(dir.path);
  REQUIRE(s);
  auto left = (*s)->list_queue();
  REQUIRE(left);
  CHECK(left->empty());
  auto ev = (*s)->recent_events(100);
  REQUIRE(ev);
  std::size_t delivered = 0;
  for (const auto& e : *ev)
    if (e.action == EventAction::delivered) ++delivered;
  CHECK(delivered == queued.size());
  auto issues = (*s)->check(false);
  REQUIRE(issues);
  for (auto& i : *issues) UNSCOPED_INFO(i.what);
  CHECK(issues->empty());
}

TEST_CASE("duplicate-safe and full commits from several threads interleave", "[store][process]") {
  // update_queue (duplicate-safe: MDB_NOMETASYNC set for its commit under the
  // process's writer lock, restored before the lock is released) and deliver() (full)
  // from 4 threads at once, grouped or not: every call succeeds and every change lands.
  // Which commits skip the meta-page sync is counted in
  // tests/integration/test_outbound_commit_sync.py.
  TempDir dir;
  make_store(dir.path);
  auto s = Store::open(dir.path);
  REQUIRE(s);
  DeliveryRequest r;
  r.body = "Subject: q\r\n\r\nbody\r\n";
  OutboundEntry e;
  e.sender = "a@example.test";
  e.recipient = "x@remote.test";
  r.outbound.push_back(e);
  auto ids = (*s)->enqueue(r);
  REQUIRE(ids);
  // From several threads at once: the flag toggles must not leak into each other.
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  auto acct = (*s)->get_account("a@example.test");
  REQUIRE(acct);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (t % 2 == 0) {
          if (!(*s)->update_queue({{ids->front(), QueueChange::Op::reschedule, 0, "451 later", 0}}, {})) ++failures;
        } else {
          DeliveryRequest d;
          d.body = "Subject: d\r\n\r\n" + std::to_string(t * 100 + i) + "\r\n";
          d.targets.push_back(DeliveryTarget{acct->id});
          if (!(*s)->deliver(d)) ++failures;
        }
      }
    });
  for (auto& t : ts) t.join();
  CHECK(failures == 0);
  auto q = (*s)->get_queue(ids->front());
  REQUIRE(q);
  CHECK(q->attempts == 50);
}

TEST_CASE("two processes deliver and flag one mailbox concurrently", "[store][process]") {
  TempDir dir;
  make_store(dir.path);
  Child a({"flag", dir.path.string(), "150", "A"});
  Child b({"flag", dir.path.string(), "150", "B"});
  a.read_all();
  b.read_all();
  CHECK(a.wait() == 0);
  CHECK(b.wait() == 0);
  std::set<Uid> all;
  for (Child* c : {&a, &b}) {
    Uid last_uid = 0;
    ModSeq last_ms = 0;
    auto lines = c->lines();
    CHECK(lines.size() == 150);
    for (auto& l : lines) {
      std::istringstream in(l);
      Uid uid;
      ModSeq ms;
      in >> uid >> ms;
      CHECK(uid > last_uid);  // increasing within each writer
      CHECK(ms > last_ms);    // MODSEQ monotonic
      CHECK(all.insert(uid).second);  // unique across writers
      last_uid = uid;
      last_ms = ms;
    }
  }
  auto s = Store::open(dir.path);
  REQUIRE(s);
  auto acct = (*s)->get_account("a@example.test");
  auto inbox = (*s)->get_mailbox(acct->id, "INBOX");
  CHECK(inbox->messages == 300);
  CHECK(inbox->unseen == 0);
  CHECK(inbox->uidnext == 301);
  ModSeq prev = 0;
  std::set<ModSeq> modseqs;
  REQUIRE((*s)->for_each_message(inbox->id, {}, [&](const MessageMeta& m) {
    CHECK(m.modseq <= inbox->highestmodseq);
    modseqs.insert(m.modseq);
    prev = m.modseq;
    return true;
  }));
  CHECK(modseqs.size() == 300);  // each flag change got its own MODSEQ
  CHECK((*s)->check(false)->empty());
}

TEST_CASE("a commit in one process wakes a waiter in another within 100 ms", "[store][process][notify]") {
  TempDir dir;
  make_store(dir.path);
  auto s = Store::open(dir.path);
  REQUIRE(s);
  auto acct = (*s)->get_account("a@example.test");
  for (int round = 0; round < 5; ++round) {
    Child w({"wait", dir.path.string(), "10000"});
    while (w.lines().empty()) REQUIRE(w.read_some(5000));
    REQUIRE(w.lines()[0].starts_with("ready"));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the waiter is idle now
    DeliveryRequest r;
    r.body = "wake " + std::to_string(round);
    r.targets.push_back(DeliveryTarget{acct->id});
    REQUIRE((*s)->deliver(r));
    auto committed = std::chrono::steady_clock::now();
    while (w.lines().size() < 2)
      if (!w.read_some(5000)) break;
    auto woke = std::chrono::steady_clock::now();
    REQUIRE(w.lines().size() == 2);
    CHECK(w.lines()[1].starts_with("changed"));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(woke - committed).count();
    INFO("woke after " << ms << " ms");
    CHECK(ms < 100);
    CHECK(w.wait() == 0);
  }
}

TEST_CASE("recent claims are exclusive across processes", "[store][process][recent]") {
  // Two processes claim INBOX's \Recent messages in a loop while this one delivers:
  // every UID must be claimed exactly once (RFC 3501 2.3.2: one session sees it).
  TempDir dir;
  make_store(dir.path);
  auto s = Store::open(dir.path);
  REQUIRE(s);
  auto acct = (*s)->get_account("a@example.test");
  MailboxId inbox = (*s)->get_mailbox(acct->id, "INBOX")->id;
  Child a({"claim", dir.path.string(), "4000"});
  Child b({"claim", dir.path.string(), "4000"});
  std::vector<std::pair<Uid, Uid>> mine;
  constexpr Uid kCount = 120;
  for (Uid i = 0; i < kCount; ++i) {
    DeliveryRequest r;
    r.body = "m" + std::to_string(i);
    r.targets.push_back(DeliveryTarget{acct->id});
    auto res = (*s)->deliver(r);
    REQUIRE(res);
    if (i % 7 == 0) {
      auto c = (*s)->claim_recent(inbox);
      REQUIRE(c);
      if (c->first < c->end) mine.emplace_back(c->first, c->end);
    }
  }
  a.read_all();
  b.read_all();
  CHECK(a.wait() == 0);
  CHECK(b.wait() == 0);
  auto last = (*s)->claim_recent(inbox);  // whatever the children left
  REQUIRE(last);
  if (last->first < last->end) mine.emplace_back(last->first, last->end);
  std::vector<int> times(kCount + 1, 0);
  auto add = [&](Uid first, Uid end) {
    CHECK(first < end);
    for (Uid u = first; u < end && u <= kCount; ++u) ++times[u];
  };
  std::size_t child_claims = 0;
  for (Child* c : {&a, &b})
    for (auto& l : c->lines()) {
      std::istringstream in(l);
      Uid first = 0, end = 0;
      in >> first >> end;
      add(first, end);
      ++child_claims;
    }
  for (auto& [f, e] : mine) add(f, e);
  for (Uid u = 1; u <= kCount; ++u) {
    INFO("uid " << u);
    CHECK(times[u] == 1);
  }
  CHECK(child_claims > 0);
  auto mb = (*s)->get_mailbox(inbox);
  CHECK(mb->first_recent_uid == mb->uidnext);
  auto none = (*s)->claim_recent(inbox);
  REQUIRE(none);
  CHECK(none->first == none->end);
}
