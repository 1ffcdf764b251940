#pragma once
// Answers to the checks' DNS questions kept between messages (shared by every session of
// tern-mta). A sender seen recently then costs no resolver round trip for its SPF record,
// DKIM key or DMARC policy: each round trip is three thread hand-offs (the session's io
// thread → libunbound's thread → the resolver's thread → back), which were most of the
// CPU the checks cost per message (bench/RESULTS.md).
//
// An answer is kept for the TTL the resolver reports (libunbound's remaining TTL, so never
// longer than DNS allows), capped at Limits::max_ttl; a negative answer (NXDOMAIN, no
// data) for its negative-caching TTL (RFC 2308, as libunbound reports it), capped at
// Limits::max_negative_ttl; a temperror never. Bounded: at most Limits::entries answers,
// the least recently used dropped first. Thread-safe. Pure (no Asio): unit-tested.
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tern/checks/dns_answer.hpp"

namespace tern::mta {

class AnswerCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    std::size_t entries = 8192;
    std::chrono::seconds max_ttl{300};
    std::chrono::seconds max_negative_ttl{60};
  };
  AnswerCache() : AnswerCache(Limits{}) {}
  explicit AnswerCache(Limits limits) : limits_(limits) {}
  AnswerCache(const AnswerCache&) = delete;
  AnswerCache& operator=(const AnswerCache&) = delete;

  // The kept answer (its ttl the seconds left), or nullptr.
  std::shared_ptr<const checks::DnsAnswer> find(const checks::DnsQuestion& q, Clock::time_point now = Clock::now());
  // Keep `a` for min(a.ttl, cap) seconds (nothing for a temperror or a ttl of 0).
  void store(const checks::DnsQuestion& q, const checks::DnsAnswer& a, Clock::time_point now = Clock::now());

  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    Clock::time_point expires;
    std::shared_ptr<const checks::DnsAnswer> answer;
  };
  static std::string key_of(const checks::DnsQuestion& q);

  const Limits limits_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace tern::mta
