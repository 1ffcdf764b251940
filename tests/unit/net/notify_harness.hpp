#pragma once
// N coroutines waiting on one ChangeNotifier (one store watcher), spread over two
// io_context threads; used by change_notifier_test.cpp and by the second process of
// that test (notify_child.cpp).
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "tern/net/asio.hpp"
#include "tern/net/change_notifier.hpp"
#include "tern/store/change_source.hpp"
#include "tern/store/store.hpp"

namespace tern::net::test {

inline std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // one clock for every process of the test
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// inotify instances open in this process.
inline int inotify_instances() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string() == "anon_inode:inotify") ++n;
  }
  return n;
}

struct NotifyHarness {
  store::Store& store;
  asio::io_context ctx0, ctx1;
  std::shared_ptr<store::Store::Watcher> watcher;
  ChangeNotifier notifier;
  std::atomic<std::size_t> woken{0};
  std::atomic<std::size_t> bad{0};  // woken with a status other than changed
  std::atomic<std::int64_t> last_wake_ns{0};
  std::thread t0, t1;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> g0, g1;

  explicit NotifyHarness(store::Store& s)
      : store(s), watcher(s.watch()), notifier(ctx0, store::change_source(s, watcher)) {
    g0.emplace(ctx0.get_executor());
    g1.emplace(ctx1.get_executor());
    notifier.start();
    t0 = std::thread([this] { ctx0.run(); });
    t1 = std::thread([this] { ctx1.run(); });
  }
  ~NotifyHarness() {
    notifier.stop();
    g0.reset();
    g1.reset();
    ctx0.stop();
    ctx1.stop();
    t0.join();
    t1.join();
  }

  static asio::awaitable<void> one(NotifyHarness* h, std::uint64_t mailbox, std::uint64_t since) {
    auto r = co_await h->notifier.wait(mailbox, since);
    if (r.status != ChangeNotifier::WaitResult::Status::changed || r.value <= since) ++h->bad;
    std::int64_t now = monotonic_ns();
    std::int64_t prev = h->last_wake_ns.load();
    while (now > prev && !h->last_wake_ns.compare_exchange_weak(prev, now)) {
    }
    ++h->woken;
  }

  void spawn(std::size_t n, std::uint64_t mailbox, std::uint64_t since) {
    for (std::size_t i = 0; i < n; ++i)
      asio::co_spawn(i % 2 ? ctx1 : ctx0, one(this, mailbox, since), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  }

  bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return cond();
  }
};

}  // namespace tern::net::test
