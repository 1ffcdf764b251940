// ChangeNotifier: one commit watcher per process waking many waiting coroutines.
#include "tern/net/change_notifier.hpp"

#include <algorithm>
#include <list>

namespace tern::net {

using namespace asio::experimental::awaitable_operators;

// One waiting coroutine. Owned jointly by the coroutine and the notifier's list; the
// timer lives on the waiter's executor and is only touched there.
struct ChangeNotifier::Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  std::uint64_t key = 0;
  std::uint64_t since = 0;
  asio::steady_timer timer;
  // Set under Shared::mu:
  bool fired = false;
  WaitResult result;
  // Its place in Shared::waiters while `listed`: removal is O(1), not a scan of every
  // waiter (10,000 IDLE sessions woken by one delivery each leave the list).
  std::list<std::shared_ptr<Waiter>>::iterator pos;
  bool listed = false;
};

struct ChangeNotifier::Shared {
  Shared(asio::io_context& c, ChangeSource s, std::chrono::milliseconds r)
      : ctx(c), source(std::move(s)), recheck(r), tick(c) {}
  asio::io_context& ctx;
  ChangeSource source;
  std::chrono::milliseconds recheck;
  asio::steady_timer tick;  // touched only on ctx

  mutable std::mutex mu;
  std::list<std::shared_ptr<Waiter>> waiters;
  bool fresh = false;    // a waiter arrived since the last check
  bool stopped = false;

  // Wakes w on its own executor (the timer is not thread-safe): the timer expires, so
  // a pending wait on it ends and a wait started later (Subscription: the session may
  // not be waiting on it yet) ends at once.
  static void fire(const std::shared_ptr<Waiter>& w, WaitResult r) {
    w->fired = true;
    w->result = r;
    asio::post(w->timer.get_executor(), [w] { w->timer.expires_at(asio::steady_timer::time_point::min()); });
  }

  // Registers w (false: stopped); the loop looks at once.
  bool add(const std::shared_ptr<Waiter>& w) {
    {
      std::lock_guard lk(mu);
      if (stopped) return false;
      w->pos = waiters.insert(waiters.end(), w);
      w->listed = true;
      fresh = true;
    }
    kick();  // look now: the value may already be past `since`
    return true;
  }

  WaitResult remove(const std::shared_ptr<Waiter>& w) {
    std::lock_guard lk(mu);
    if (w->listed) {
      waiters.erase(w->pos);
      w->listed = false;
    }
    return w->fired ? w->result : WaitResult{};  // not fired: cancelled
  }

  // On ctx: kick the loop (cancel its wait) so it looks at once.
  void kick() {
    asio::post(ctx, [this] { tick.cancel(); });
  }

  void check(std::uint64_t& seen) {
    std::vector<std::shared_ptr<Waiter>> ws;
    {
      std::lock_guard lk(mu);
      if (waiters.empty()) {
        fresh = false;
        return;
      }
      std::uint64_t now = source.commit_counter ? source.commit_counter() : seen + 1;
      if (now == seen && !fresh) return;
      fresh = false;
      ws.assign(waiters.begin(), waiters.end());
    }
    std::vector<std::uint64_t> keys;
    keys.reserve(ws.size());
    for (const auto& w : ws) keys.push_back(w->key);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<std::optional<std::uint64_t>> values;
    auto snap = source.lookup(keys, values);
    if (!snap || values.size() != keys.size()) return;  // read error: next recheck
    seen = *snap;
    std::lock_guard lk(mu);
    for (const auto& w : ws) {
      if (w->fired) continue;
      auto it = std::lower_bound(keys.begin(), keys.end(), w->key);
      const auto& v = values[static_cast<std::size_t>(it - keys.begin())];
      if (!v)
        fire(w, {WaitResult::Status::gone, 0});
      else if (*v > w->since)
        fire(w, {WaitResult::Status::changed, *v});
    }
  }
};

ChangeNotifier::ChangeNotifier(asio::io_context& ctx, ChangeSource source, std::chrono::milliseconds recheck)
    : sh_(std::make_shared<Shared>(ctx, std::move(source), recheck)) {}

ChangeNotifier::~ChangeNotifier() { stop(); }

void ChangeNotifier::start() {
  asio::co_spawn(sh_->ctx, run_loop(sh_), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // a bug: let the daemon's handler see it
  });
}

void ChangeNotifier::stop() {
  std::lock_guard lk(sh_->mu);
  if (sh_->stopped) return;
  sh_->stopped = true;
  for (const auto& w : sh_->waiters)
    if (!w->fired) Shared::fire(w, {WaitResult::Status::stopped, 0});
  sh_->kick();
}

std::size_t ChangeNotifier::waiters() const {
  std::lock_guard lk(sh_->mu);
  return sh_->waiters.size();
}

asio::awaitable<void> ChangeNotifier::run_loop(std::shared_ptr<Shared> sh) {
  // The descriptor wraps the source's fd without owning it: release() before it is
  // destroyed (no dup(), which would also drop O_CLOEXEC and leak into children).
  std::optional<asio::posix::stream_descriptor> sd;
  if (sh->source.fd >= 0) sd.emplace(sh->ctx, sh->source.fd);
  struct Release {
    std::optional<asio::posix::stream_descriptor>& sd;
    ~Release() {
      if (sd) sd->release();
    }
  } release{sd};
  std::uint64_t seen = 0;
  bool just_fired = false;  // the fd fired: the commit may be visible a moment later
  for (;;) {
    bool busy;
    {
      std::lock_guard lk(sh->mu);
      if (sh->stopped) break;
      busy = !sh->waiters.empty();
    }
    auto soon = std::min(sh->recheck, std::chrono::milliseconds(5));
    sh->tick.expires_after(!busy ? std::chrono::milliseconds(std::chrono::hours(1)) : just_fired ? soon : sh->recheck);
    just_fired = false;
    if (sd) {
      auto r = co_await (sd->async_wait(asio::posix::descriptor_base::wait_read, asio::as_tuple(asio::use_awaitable)) ||
                         sh->tick.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 0) {
        if (sh->source.drain) sh->source.drain();
        just_fired = true;
      }
    } else {
      co_await sh->tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    sh->check(seen);
  }
}

asio::awaitable<ChangeNotifier::WaitResult> ChangeNotifier::wait(std::uint64_t key, std::uint64_t since) {
  auto ex = co_await asio::this_coro::executor;
  auto w = std::make_shared<Waiter>(ex);
  w->key = key;
  w->since = since;
  w->timer.expires_at(asio::steady_timer::time_point::max());
  std::shared_ptr<Shared> sh = sh_;
  if (!sh->add(w)) co_return WaitResult{WaitResult::Status::stopped, 0};
  auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
  co_return sh->remove(w);
}

ChangeNotifier::Subscription::Subscription(std::shared_ptr<Shared> sh, std::shared_ptr<Waiter> w)
    : sh_(std::move(sh)), w_(std::move(w)) {}

ChangeNotifier::Subscription::~Subscription() { finish(); }

asio::steady_timer& ChangeNotifier::Subscription::timer() { return w_->timer; }

ChangeNotifier::WaitResult ChangeNotifier::Subscription::finish() {
  if (!sh_) return w_->result;
  WaitResult r = sh_->remove(w_);
  sh_.reset();
  return r;
}

std::unique_ptr<ChangeNotifier::Subscription> ChangeNotifier::subscribe(const asio::any_io_executor& ex,
                                                                        std::uint64_t key, std::uint64_t since) {
  auto w = std::make_shared<Waiter>(ex);
  w->key = key;
  w->since = since;
  w->timer.expires_at(asio::steady_timer::time_point::max());
  if (!sh_->add(w)) {
    // Stopped: an expired timer and the result, as a fired waiter has.
    w->fired = true;
    w->result = WaitResult{WaitResult::Status::stopped, 0};
    w->timer.expires_at(asio::steady_timer::time_point::min());
    return std::unique_ptr<Subscription>(new Subscription(nullptr, std::move(w)));
  }
  return std::unique_ptr<Subscription>(new Subscription(sh_, std::move(w)));
}

}  // namespace tern::net
