#pragma once
// tern::mta::EventRecorder — the delivery events that are not part of a delivery commit
// (refused RCPTs, messages refused at the end of data), written in batches by one thread
// of its own.
//
// Why: an unauthenticated client makes refusals as fast as it can send RCPT. Written
// per session (or per RCPT) in a transaction of its own, each cost one fsync on the
// blocking pool that also serves RCPT lookups and AUTH, so a slow disk stalled every
// other client, and 200 sessions made 200 commits. Here:
//   - record() appends under a mutex and returns: it never touches the store and never
//     waits for I/O. Sessions call it from their io thread.
//   - One writer thread (not the lookup pool, not the delivery pool) commits whatever
//     has gathered every `flush_interval` in ONE add_events() transaction (one fsync),
//     or sooner when `batch` events wait. A commit stuck in fsync holds up only this
//     thread; events that arrive meanwhile ride on the next commit.
//   - Per client (ip_limit_key: IPv4 address, IPv6 /ipv6_prefix), at most `per_ip`
//     events per `window`; the rest are counted and written as one summary event per
//     client and window, and one log line. The session logs every refusal anyway.
//   - At most `max_pending` events wait in memory (a store stuck for long); the rest are
//     counted as dropped, logged and summarised in one event.
//   - stop() (also the destructor) writes what is pending, summaries included, and
//     joins the thread. record() after stop() counts as dropped.
// Events keep the store's format (tern::store::DeliveryEvent), so the web panel's
// delivery tracking shows them as before. An event's time is set at record() when 0.
// Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tern/store/store.hpp"

namespace tern::mta {

class EventRecorder {
 public:
  struct Options {
    std::chrono::milliseconds flush_interval{1000};  // [store] events_flush
    std::size_t batch = 5000;                        // flush early with this many waiting
    unsigned per_ip = 100;                           // [store] events_per_ip; 0 = no cap
    std::chrono::seconds window{60};
    std::size_t max_pending = 20000;
    unsigned ipv6_prefix = 64;                       // [limits] ipv6_prefix
    std::size_t max_clients = 10000;                 // beyond: new clients share one counter
  };

  struct Stats {
    std::uint64_t recorded = 0;    // accepted by record()
    std::uint64_t written = 0;     // committed to the store (summaries included)
    std::uint64_t commits = 0;     // add_events() transactions
    std::uint64_t suppressed = 0;  // over the per-client cap (counted in summaries)
    std::uint64_t dropped = 0;     // over max_pending, or after stop()
    std::uint64_t failed = 0;      // lost to a store error
  };

  EventRecorder(store::Store& store, Options opt);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Queue one event of a refusal to `client_ip` (text form). Never blocks on the store.
  void record(std::string_view client_ip, store::DeliveryEvent event);
  // Write everything pending now and wait for that commit (tests, shutdown). false if
  // the store refused it.
  bool flush();
  void stop();
  Stats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Client {
    Clock::time_point window_start;
    unsigned count = 0;
    std::uint64_t suppressed = 0;
  };

  void run();
  // Under mu_: the summary events of clients whose window ended (or all, at the end),
  // and the dropped count; forgets those clients.
  void summarise_locked(Clock::time_point now, bool all);
  bool write(std::vector<store::DeliveryEvent>& batch);

  store::Store& store_;
  const Options opt_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer
  std::condition_variable done_cv_;  // a commit finished (flush())
  std::vector<store::DeliveryEvent> pending_;
  std::unordered_map<std::string, Client> clients_;
  std::uint64_t dropped_unreported_ = 0;
  std::uint64_t flush_requests_ = 0, flushes_done_ = 0;
  bool last_flush_ok_ = true;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace tern::mta
