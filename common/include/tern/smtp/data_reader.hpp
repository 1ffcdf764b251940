#pragma once
// Incremental decoder for a message body sent with DATA (dot-terminated, RFC 5321
// §4.1.1.4, §4.5.2) or with BDAT chunks (RFC 3030: raw octets, no terminator).
// Pure: no I/O. feed() may be called with any split of the input.
//
// Policy (design §6, SMTP smuggling):
//   - DATA ends only at <CRLF>.<CRLF> (the start of the data counts as after a CRLF).
//   - A bare LF or a bare CR anywhere never ends the data, nor starts a line for
//     dot-unstuffing; the data is read to the real end and the message is REJECTED
//     with 550 5.5.2 (we reject rather than normalise: an unambiguous refusal, and no
//     message whose meaning differs between us and a downstream MTA is ever stored).
//     The same check applies to BDAT bodies (a stored bare LF could be smuggled on relay).
//   - Size over max_size: the rest is read and dropped, then 552 5.3.4 (RFC 1870 §6.3).
//   - A line longer than line_max octets including CRLF (RFC 5321 §4.5.3.1.6: 1000) →
//     read to the end, then reject with 500 5.5.2 "line too long" (§4.5.3.1.10 names
//     500 for this; replying mid-DATA is impossible, so the answer comes at the end).
//   - A NUL octet: neither 7BIT nor 8BITMIME allows it (RFC 6152 §3); reject 554 5.6.0.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tern/smtp/reply.hpp"

namespace tern::smtp {

enum class DataMode { Dot, Raw };

enum class DataOutcome { Ok, TooBig, BareLineEnding, LineTooLong, Nul };

class DataReader {
 public:
  DataReader(DataMode mode, std::uint64_t max_size, std::size_t line_max = 1000)
      : mode_(mode), max_size_(max_size), line_max_(line_max) {}

  // Decode bytes of `in`, appending message octets to `out` (nothing is appended once
  // the size cap is passed). Returns the number of octets of `in` consumed: in Dot mode
  // it stops right after the terminating CRLF.CRLF (what follows is the next command);
  // in Raw mode it consumes everything.
  std::size_t feed(std::string_view in, std::string& out);

  // Dot mode: the terminator was seen.
  bool done() const { return done_; }
  // Raw mode: the last chunk ended (a CR left pending at the very end is a bare CR).
  void finish();

  DataOutcome outcome() const;
  // The rejection for outcome() != Ok; an empty Reply when Ok.
  Reply reject_reply() const;
  // Octets of message content seen (after unstuffing), also past the cap.
  std::uint64_t size() const { return size_; }

 private:
  enum class St { LineStart, Dot, DotCr, InLine, Cr };
  void emit(char c, std::string& out);
  void end_line();

  DataMode mode_;
  std::uint64_t max_size_;
  std::size_t line_max_;
  St st_ = St::LineStart;
  bool done_ = false;
  std::uint64_t size_ = 0;
  std::size_t line_len_ = 0;  // raw octets of the current line before CRLF
  bool too_big_ = false, bare_ = false, long_line_ = false, nul_ = false;
};

}  // namespace tern::smtp
