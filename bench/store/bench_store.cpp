// Store benchmark (run by hand: bench/store/run.sh). Prints "name value unit" lines.
//   bench_store DIR [N_LIST] [CASE]   DIR: an empty scratch directory (each case uses a
//   subdir); CASE (deliver, list, fanout, churn) runs only that case
// Cases:
//   deliver_1t_group / deliver_1t_nogroup     4 KiB messages/s into one mailbox, 1 writer
//   deliver_16t_group / deliver_16t_nogroup   the same with 16 writer threads
//   list_100k_ms                              for_each_message over N_LIST (100000) messages
//   bytes_per_msg_used / bytes_per_msg_file   pages in use / file size per 4 KiB message
//   fanout_1mib_100rcpt_bytes                 growth for one 1 MiB message to 100 accounts
//                                             (asserts one stored body)
//   churn_file_mb_round1 / churn_file_mb_round10 / churn_growth_pct /
//   churn_file_per_live_round1 / churn_file_per_live_round10
//                                             design §3: file size under deliver/expunge
//                                             churn (2,000-message working set, 10% of
//                                             them 256 KiB; each round expunges 1,000
//                                             random messages and delivers 1,000 new)
#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "tern/store/store.hpp"

using namespace tern::store;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const char* what, std::error_code ec = {}) {
  std::fprintf(stderr, "bench_store: %s %s\n", what, ec.message().c_str());
  std::exit(1);
}

std::string body4k(std::uint64_t n) {
  std::string s = "Subject: bench " + std::to_string(n) + "\r\n\r\n";
  while (s.size() < 4096) s += "The quick brown fox jumps over the lazy dog " + std::to_string(n) + "\r\n";
  s.resize(4096);
  return s;
}

struct Env {
  StorePtr s;
  AccountId acct = 0;
};

Env setup(const std::filesystem::path& dir, bool group) {
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.group_commit = group;
  auto s = Store::open(dir, o);
  if (!s) die("open", s.error());
  Env e{std::move(*s), 0};
  if (!e.s->add_domain("bench.test")) die("domain");
  auto a = e.s->add_account(NewAccount{"u@bench.test", "", std::nullopt, {}, true});
  if (!a) die("account", a.error());
  e.acct = *a;
  return e;
}

// Delivers `total` unique 4 KiB messages with `threads` writers; returns deliveries/s.
double deliver_rate(Env& e, int threads, std::uint64_t total, std::uint64_t base = 0) {
  std::atomic<std::uint64_t> next{0};
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (std::uint64_t i; (i = next++) < total;) {
        DeliveryRequest r;
        r.body = body4k(base + i);
        r.targets.push_back(DeliveryTarget{e.acct});
        auto res = e.s->deliver(r);
        if (!res || res->targets[0].error) die("deliver", res ? res->targets[0].error : res.error());
      }
    });
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(total) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_store DIR [N_LIST]\n");
    return 64;
  }
  std::filesystem::path root = argv[1];
  std::uint64_t n_list = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  std::string only = argc > 3 ? argv[3] : "";
  auto want = [&](const char* name) { return only.empty() || only == name; };

  for (bool group : {true, false}) {
    if (!want("deliver")) break;
    for (int threads : {1, 16}) {
      Env e = setup(root / "deliver", group);
      std::uint64_t total = threads == 1 ? 1000 : 3200;
      double rate = deliver_rate(e, threads, total);
      std::printf("deliver_%dt_%s %.0f msg/s\n", threads, group ? "group" : "nogroup", rate);
      std::fflush(stdout);
    }
  }

  if (want("list")) {
    Env e = setup(root / "list", true);
    deliver_rate(e, 16, n_list);
    auto inbox = e.s->get_mailbox(e.acct, "INBOX");
    std::vector<double> runs;
    for (int i = 0; i < 3; ++i) {
      std::uint64_t count = 0, flags = 0;
      auto t0 = Clock::now();
      auto r = e.s->for_each_message(inbox->id, {}, [&](const MessageMeta& m) {
        ++count;
        flags += m.flags + m.uid;
        return true;
      });
      runs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!r || count != n_list) die("list");
    }
    std::sort(runs.begin(), runs.end());
    std::printf("list_%lluk_ms %.1f ms\n", static_cast<unsigned long long>(n_list / 1000), runs[1]);
    auto st = e.s->stats();
    std::printf("bytes_per_msg_used %.0f B\n", static_cast<double>(st->used_bytes) / static_cast<double>(n_list));
    std::printf("bytes_per_msg_file %.0f B\n", static_cast<double>(st->file_bytes) / static_cast<double>(n_list));
    std::fflush(stdout);
  }

  if (want("fanout")) {
    Env e = setup(root / "fanout", true);
    DeliveryRequest r;
    r.body = std::string(1 << 20, 'x');
    for (std::size_t i = 0; i < r.body.size(); i += 100) r.body[i] = static_cast<char>('a' + i % 26);
    for (int i = 0; i < 100; ++i) {
      auto a = e.s->add_account(NewAccount{"r" + std::to_string(i) + "@bench.test", "", std::nullopt, {}, true});
      if (!a) die("account");
      r.targets.push_back(DeliveryTarget{*a});
    }
    auto before = e.s->stats()->used_bytes;
    auto res = e.s->deliver(r);
    if (!res) die("fanout", res.error());
    for (auto& t : res->targets)
      if (t.error) die("fanout target", t.error);
    auto st = e.s->stats();
    if (st->blobs != 1 || st->blob_bytes != r.body.size()) die("1 MiB to 100 recipients was not stored once");
    if (st->used_bytes - before > 2 * r.body.size()) die("fan-out used more than 2 MiB");
    std::printf("fanout_1mib_100rcpt_bytes %llu B (blobs=%llu)\n",
                static_cast<unsigned long long>(st->used_bytes - before), static_cast<unsigned long long>(st->blobs));
  }
  if (want("churn")) {
    // Churn: the free list fragments as bodies of mixed sizes come and go. With bodies
    // in small fixed-size chunks the file should stop growing once the working set is
    // reached (pages are reused), instead of growing round after round.
    Env e = setup(root / "churn", true);
    auto inbox = e.s->get_mailbox(e.acct, "INBOX");
    std::mt19937_64 rng(42);
    std::uint64_t seq = 0;
    auto deliver_mixed = [&](int n) {
      for (int i = 0; i < n; ++i, ++seq) {
        DeliveryRequest r;
        r.body = body4k(seq);
        if (seq % 10 == 0) {
          r.body.reserve(256 * 1024);
          while (r.body.size() < 256 * 1024) r.body += body4k(seq * 131 + r.body.size());
        }
        r.targets.push_back(DeliveryTarget{e.acct});
        auto res = e.s->deliver(r);
        if (!res || res->targets[0].error) die("churn deliver");
      }
    };
    deliver_mixed(2000);
    double round1 = 0, last = 0, live1 = 0, live = 0;
    for (int round = 1; round <= 10; ++round) {
      std::vector<Uid> uids;
      (void)e.s->for_each_message(inbox->id, {}, [&](const MessageMeta& m) {
        uids.push_back(m.uid);
        return true;
      });
      std::shuffle(uids.begin(), uids.end(), rng);
      uids.resize(std::min<std::size_t>(uids.size(), 1000));
      UidSet set;
      for (Uid u : uids) set.push_back(UidRange{u, u});
      if (!e.s->expunge(inbox->id, set, false)) die("churn expunge");
      deliver_mixed(1000);
      auto st = e.s->stats();
      last = static_cast<double>(st->file_bytes) / (1024.0 * 1024.0);
      live = static_cast<double>(st->blob_bytes) / (1024.0 * 1024.0);
      if (round == 1) round1 = last, live1 = live;
    }
    std::printf("churn_file_mb_round1 %.1f MiB\n", round1);
    std::printf("churn_file_mb_round10 %.1f MiB\n", last);
    std::printf("churn_growth_pct %.1f %%\n", (last / round1 - 1.0) * 100.0);
    // File size per live body byte: rises if freed pages are not reused.
    std::printf("churn_file_per_live_round1 %.2f x\n", round1 / live1);
    std::printf("churn_file_per_live_round10 %.2f x\n", last / live);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(root);
  return 0;
}
