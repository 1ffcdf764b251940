#pragma once
// QueueWorker: sends the store's outbound queue (design §2). Runs on its own
// io_context thread inside tern-mta; store calls go to the blocking pool.
//
//   - Every 250 ms, at once after start, within 20 ms of any store commit while
//     nothing is in flight (ternctl queue flush, new mail: the store's commit
//     watcher), and before a destination runs dry when the last scan stopped at its
//     1,000-entry slice, it reads the due entries
//     (Store::due_queue), skips those already in flight, and groups the rest into
//     messages (same body, same sender, same destination; up to [limits] recipients
//     each) per destination: the recipient's domain, or the relay when [relay] host
//     is set.
//   - Each destination gets up to [outbound] connections_per_destination connections
//     (and all of them together up to [outbound] connections); a connection sends
//     message after message until the destination has none left.
//   - Routing: MX by preference (null MX -> bounce 5.1.10, NXDOMAIN -> bounce 5.1.2,
//     no MX -> the domain's own A/AAAA, DNS temporary failure -> retry); each MX's
//     addresses are tried in order (AAAA then A) until one connection works. An
//     address literal (user@[192.0.2.1], user@[IPv6:2001:db8::1]) goes to that address.
//   - DKIM: mail whose From domain is local and has keys is signed, one signature per
//     algorithm (rsa, then ed25519); after a rotation the new key signs once DNS
//     publishes it (queue/dkim_keys.hpp). Forwarded mail is not signed.
//   - Results: the peer's 250 is followed by ONE commit that removes the entry and
//     records the event (the crash window that can send a message twice); the
//     connection may start its next transaction meanwhile, but sends that message's
//     end only after the commit (driver.hpp), so a peer holds at most one accepted,
//     uncommitted message per connection. The results (without DSNs) that finish
//     while a commit runs go together into the next one: one txn and one pool trip
//     for a group; that commit waits (at most as long as the last one took) for the
//     connections whose results are due, i.e. not held behind a commit, so all
//     connections share each commit instead of taking turns. 4xx and
//     network errors reschedule (outcome.hpp); 5xx bounce.
//   - Restart / kill -9 safe: nothing is removed before the peer accepted it, and
//     nothing in memory is needed to resume (entries in flight are simply due again).
//     The result commit is duplicate-safe (Store::update_queue: no meta-page sync), so
//     a power loss, unlike kill -9, may also undo the last finished one: at most two
//     messages per connection sent again, none lost.
#include <memory>

#include "tern/config/config.hpp"
#include "tern/net/asio.hpp"
#include "tern/store/store.hpp"

namespace tern::mta::queue {

class QueueWorker {
 public:
  // Reads [relay] password_file now; throws std::runtime_error naming it if unreadable.
  QueueWorker(const config::Config& cfg, store::Store& store, asio::thread_pool& blocking);
  ~QueueWorker();
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  void start();  // starts the worker thread
  // Stops picking entries, gives running connections up to `grace` to finish, then
  // closes them; joins the thread. Entries not finished stay queued.
  void stop(std::chrono::seconds grace = std::chrono::seconds(5));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::mta::queue
