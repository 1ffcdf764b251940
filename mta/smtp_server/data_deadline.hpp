#pragma once
// RecordDeadline: the message-data timeout as a deadline per record, as Postfix's
// smtpd_per_record_deadline. A record is one line of DATA (up to its LF) or, whatever
// the content, `record_octets` octets ([limits] text_line, RFC 5321 §4.5.3.1.6: 1000);
// each record must arrive within `per_record` of the end of the one before. A client
// trickling a byte now and then no longer resets the clock with every byte, while a
// slow but steady sender of a large message still gets through (its lines keep coming).
// BDAT chunks have no lines: every `record_octets` of a chunk is a record, so a chunk's
// time is bounded by its size (per_record × ceil(size / record_octets)).
// Pure: the caller passes the clock's now; no I/O.
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace tern::mta {

class RecordDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  RecordDeadline(Clock::duration per_record, std::size_t record_octets, bool lines, Clock::time_point now)
      : per_(per_record), octets_(record_octets ? record_octets : 1), lines_(lines), deadline_(now + per_record) {}

  // Octets that arrived at `now`.
  void arrived(std::string_view bytes, Clock::time_point now) {
    if (bytes.empty()) return;
    std::size_t tail = bytes.size();
    if (lines_) {
      const void* lf = memrchr(bytes.data(), '\n', bytes.size());
      if (lf) {
        tail = bytes.size() - (static_cast<const char*>(lf) - bytes.data()) - 1;
        partial_ = 0;
        deadline_ = now + per_;
      }
    }
    partial_ += tail;
    if (partial_ >= octets_) {
      partial_ %= octets_;
      deadline_ = now + per_;
    }
  }

  Clock::time_point deadline() const { return deadline_; }
  // Time left for the current record (zero once passed).
  Clock::duration remaining(Clock::time_point now) const {
    return now >= deadline_ ? Clock::duration::zero() : deadline_ - now;
  }
  bool expired(Clock::time_point now) const { return now >= deadline_; }

 private:
  Clock::duration per_;
  std::size_t octets_;
  bool lines_;
  std::size_t partial_ = 0;  // octets of the current record so far
  Clock::time_point deadline_;
};

}  // namespace tern::mta
