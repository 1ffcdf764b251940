#include "answer_cache.hpp"

#include <algorithm>

namespace tern::mta {

std::string AnswerCache::key_of(const checks::DnsQuestion& q) {
  return std::to_string(static_cast<unsigned>(q.type)) + ' ' + q.name;
}

std::shared_ptr<const checks::DnsAnswer> AnswerCache::find(const checks::DnsQuestion& q, Clock::time_point now) {
  const std::string key = key_of(q);
  std::lock_guard lk(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  auto node = it->second;
  if (now >= node->expires) {
    index_.erase(it);
    lru_.erase(node);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, node);
  auto left = std::chrono::duration_cast<std::chrono::seconds>(node->expires - now).count();
  if (static_cast<std::uint32_t>(left) == node->answer->ttl) return node->answer;
  auto copy = std::make_shared<checks::DnsAnswer>(*node->answer);
  copy->ttl = static_cast<std::uint32_t>(left);
  return copy;
}

void AnswerCache::store(const checks::DnsQuestion& q, const checks::DnsAnswer& a, Clock::time_point now) {
  std::chrono::seconds keep{0};
  if (a.status == checks::DnsStatus::ok) keep = std::min(std::chrono::seconds(a.ttl), limits_.max_ttl);
  else if (a.status == checks::DnsStatus::nxdomain || a.status == checks::DnsStatus::nodata)
    keep = std::min(std::chrono::seconds(a.ttl), limits_.max_negative_ttl);
  if (keep.count() <= 0 || limits_.entries == 0) return;
  auto answer = std::make_shared<checks::DnsAnswer>(a);
  answer->ttl = static_cast<std::uint32_t>(keep.count());
  std::string key = key_of(q);
  std::lock_guard lk(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key, now + keep, std::move(answer)});
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > limits_.entries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::size_t AnswerCache::size() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

}  // namespace tern::mta
