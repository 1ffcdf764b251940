#pragma once
// ReturnPathFilter: removes every Return-Path header field (with its folded
// continuation lines) from the header section of a message as it streams from the
// DATA/BDAT decoder into the spool. RFC 5321 §4.4: Return-Path is added by the final
// delivery; one that arrives with a message is a forgery or a leftover (Postfix's
// cleanup drops it too), and it would sit beside ours. The body is never touched.
// Input is the decoded message (lines end CRLF); any split of the input gives the same
// output. Memory: one header line at most (longer lines are passed through). Pure.
//
// It also counts the header's Received fields (kept, not changed): RFC 5321 §6.3's loop
// detection, as Postfix's hopcount_limit. The caller refuses a message with too many.
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::mta {

class ReturnPathFilter {
 public:
  // Appends the filtered form of `in` to `out`.
  void feed(std::string_view in, std::string& out);
  // End of the message: a last header line without CRLF goes out as is.
  void finish(std::string& out);
  // Return-Path fields removed so far.
  unsigned removed() const { return removed_; }
  // Received fields in the header section so far.
  unsigned received() const { return received_; }

 private:
  void end_line(std::string& out);

  static constexpr std::size_t kMaxLine = 64 * 1024;
  bool in_body_ = false;
  bool dropping_ = false;  // the last header line was (part of) a Return-Path field
  bool passthrough_ = false;  // the current line is too long: passed as it comes
  std::string line_;
  unsigned removed_ = 0;
  unsigned received_ = 0;
};

// More Received fields than this in an arriving message: a forwarding loop (Postfix's
// hopcount_limit default; RFC 5321 §6.3 asks for a large threshold). Refused with 554 5.4.6.
inline constexpr unsigned kMaxReceivedFields = 50;

}  // namespace tern::mta
