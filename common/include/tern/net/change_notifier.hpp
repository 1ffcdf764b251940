#pragma once
// ChangeNotifier: ONE watcher of store commits per process, shared by every session
// that waits for a mailbox to change (IMAP IDLE, NOOP-free push), whatever io_context
// thread the session lives on. 10,000 idle sessions cost one inotify instance (Linux
// allows 128 per user by default) and one small waiter record each; no thread blocks.
//
//   // once per process, after the store is open (see tern/store/change_source.hpp):
//   auto watcher = std::shared_ptr<store::Store::Watcher>(store.watch());
//   net::ChangeNotifier notifier(io_contexts[0], store::change_source(store, watcher));
//   notifier.start();
//
//   // in a session coroutine: client input or a store change, whichever comes first
//   using namespace asio::experimental::awaitable_operators;
//   auto r = co_await (notifier.wait(mailbox_id, known_highestmodseq) || conn.read_line());
//   if (r.index() == 0) { auto w = std::get<0>(r); /* w.status, w.value: new HIGHESTMODSEQ */ }
//
// How it works: the notifier's loop runs on the io_context given to it. It waits for
// the source fd (inotify) or a recheck timer (100 ms by default, only while someone
// waits: LMDB's meta page can announce a commit a moment before a new read txn sees
// it), then, if the commit counter moved or a waiter just arrived, reads the values of
// every waited-on key in one snapshot (ChangeSource::lookup: one read txn for all
// mailboxes) and wakes each waiter whose value is now > its `since`, on the waiter's
// own executor. A commit in any process wakes every waiter within ~100 ms.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "tern/net/asio.hpp"
#include "tern/net/change_source.hpp"

namespace tern::net {

class ChangeNotifier {
  struct Waiter;
  struct Shared;

 public:
  struct WaitResult {
    enum class Status {
      changed,    // value > since: `value` is the new value (HIGHESTMODSEQ)
      gone,       // the key vanished (mailbox deleted)
      cancelled,  // the wait was cancelled (the other side of an `||` won)
      stopped,    // the notifier was stopped
    } status = Status::cancelled;
    std::uint64_t value = 0;
  };

  // The loop runs on ctx (its thread also does the lookups: one LMDB read txn per
  // commit, microseconds). recheck: see above.
  ChangeNotifier(asio::io_context& ctx, ChangeSource source,
                 std::chrono::milliseconds recheck = std::chrono::milliseconds(100));
  ~ChangeNotifier();
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Spawns the loop on ctx. Call once.
  void start();
  // Ends the loop; pending and later waits return `stopped`. Thread-safe.
  void stop();

  // Waits until key's value > since (returns at once if it already is). Callable from
  // any thread's coroutine; resumes on the caller's executor. Supports per-operation
  // cancellation (awaitable operators `||`, or a cancellation slot).
  asio::awaitable<WaitResult> wait(std::uint64_t key, std::uint64_t since);

  // The same wait without a coroutine of its own, to join another wait (the IMAP IDLE
  // wait: Connection::read_some_or_wake waits on the socket, its deadline and timer()
  // at once; `wait() || read_some()` would spawn a coroutine per operand, ~3 KiB per
  // idle session, issue 17). timer() expires when key's value is > since, the key goes
  // or the notifier stops: a pending async_wait on it ends, a later one ends at once.
  // Make it, use its timer and finish it on one executor (ex).
  class Subscription {
   public:
    ~Subscription();  // finish()es
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    asio::steady_timer& timer();
    // Unregisters (once) and gives the result: `cancelled` when nothing happened yet.
    WaitResult finish();

   private:
    friend class ChangeNotifier;
    Subscription(std::shared_ptr<Shared> sh, std::shared_ptr<Waiter> w);
    std::shared_ptr<Shared> sh_;
    std::shared_ptr<Waiter> w_;
  };
  std::unique_ptr<Subscription> subscribe(const asio::any_io_executor& ex, std::uint64_t key,
                                          std::uint64_t since);

  // Number of waits in progress (for tests and metrics).
  std::size_t waiters() const;

 private:
  asio::awaitable<void> run_loop(std::shared_ptr<Shared> sh);
  std::shared_ptr<Shared> sh_;
};

}  // namespace tern::net
