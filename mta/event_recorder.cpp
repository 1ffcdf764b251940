#include "event_recorder.hpp"

#include <ctime>

#include "tern/log/log.hpp"
#include "tern/util/ip_prefix.hpp"

namespace tern::mta {

namespace {
constexpr std::string_view kOverflowKey = "*";  // clients beyond max_clients share this
}

EventRecorder::EventRecorder(store::Store& store, Options opt) : store_(store), opt_(opt) {
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::record(std::string_view client_ip, store::DeliveryEvent event) {
  const auto now = Clock::now();
  std::lock_guard lk(mu_);
  if (stopping_) {
    ++stats_.dropped;
    return;
  }
  std::string key = util::ip_limit_key(client_ip.substr(0, 64), opt_.ipv6_prefix);
  auto it = clients_.find(key);
  if (it == clients_.end()) {
    if (clients_.size() >= opt_.max_clients) key = std::string(kOverflowKey);
    it = clients_.try_emplace(key, Client{now, 0, 0}).first;
  }
  Client& c = it->second;
  if (now - c.window_start >= opt_.window) {
    // A new window for this client: the old one's summary first.
    summarise_locked(now, false);
    it = clients_.try_emplace(key, Client{now, 0, 0}).first;
  }
  Client& cur = it->second;
  if (opt_.per_ip && cur.count >= opt_.per_ip) {
    if (cur.suppressed++ == 0)
      spdlog::info("events: client {} reached {} refusal events in {}s; further ones are counted, not stored",
                   key, opt_.per_ip, opt_.window.count());
    ++stats_.suppressed;
    return;
  }
  if (pending_.size() >= opt_.max_pending) {
    ++dropped_unreported_;
    ++stats_.dropped;
    return;
  }
  ++cur.count;
  if (event.time == 0) event.time = static_cast<store::UnixTime>(std::time(nullptr));
  event.detail = event.detail.substr(0, 1000);
  pending_.push_back(std::move(event));
  ++stats_.recorded;
  if (pending_.size() >= opt_.batch) cv_.notify_one();
}

void EventRecorder::summarise_locked(Clock::time_point now, bool all) {
  const auto unix_now = static_cast<store::UnixTime>(std::time(nullptr));
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Client& c = it->second;
    if (!all && now - c.window_start < opt_.window) {
      ++it;
      continue;
    }
    if (c.suppressed) {
      store::DeliveryEvent s;
      s.time = unix_now;
      s.message_id = "-";
      s.action = store::EventAction::rejected;
      s.detail = fmt::format("{} more refusals from {} not stored (at most {} events per client per {}s; "
                             "each is in the mail log)",
                             c.suppressed, it->first, opt_.per_ip, opt_.window.count());
      spdlog::info("events: client {}: {} refusal events over the cap counted in one summary event", it->first,
                   c.suppressed);
      pending_.push_back(std::move(s));
    }
    it = clients_.erase(it);
  }
  if (dropped_unreported_) {
    store::DeliveryEvent s;
    s.time = unix_now;
    s.message_id = "-";
    s.action = store::EventAction::rejected;
    s.detail = fmt::format("{} refusal events not stored: the store was not keeping up", dropped_unreported_);
    spdlog::warn("events: {} refusal events dropped ({} were waiting for the store)", dropped_unreported_,
                 opt_.max_pending);
    dropped_unreported_ = 0;
    pending_.push_back(std::move(s));
  }
}

bool EventRecorder::write(std::vector<store::DeliveryEvent>& batch) {
  if (batch.empty()) return true;
  auto r = store_.add_events(batch);
  std::lock_guard lk(mu_);
  ++stats_.commits;
  if (r) {
    stats_.written += batch.size();
    return true;
  }
  stats_.failed += batch.size();
  spdlog::error("events: recording {} delivery events failed: {}", batch.size(), r.error().message());
  return false;
}

void EventRecorder::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait_for(lk, opt_.flush_interval, [this] {
      return stopping_ || pending_.size() >= opt_.batch || flush_requests_ > flushes_done_;
    });
    const bool last = stopping_;
    summarise_locked(Clock::now(), last);
    const std::uint64_t requests = flush_requests_;
    std::vector<store::DeliveryEvent> batch;
    batch.swap(pending_);
    lk.unlock();
    const bool ok = write(batch);  // the only store write, on this thread
    lk.lock();
    last_flush_ok_ = ok;
    flushes_done_ = requests;
    done_cv_.notify_all();
    if (last && pending_.empty()) break;
  }
}

bool EventRecorder::flush() {
  std::unique_lock lk(mu_);
  if (!thread_.joinable() || stopping_) return pending_.empty();
  const std::uint64_t mine = ++flush_requests_;
  cv_.notify_one();
  done_cv_.wait(lk, [&] { return flushes_done_ >= mine; });
  return last_flush_ok_;
}

void EventRecorder::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

EventRecorder::Stats EventRecorder::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace tern::mta
