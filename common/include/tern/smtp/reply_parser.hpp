#pragma once
// ReplyParser: a pure, bounded, incremental parser of SMTP server replies (RFC 5321
// §4.2), the client side's counterpart of the command parser. Fed raw bytes, it
// returns whole (possibly multi-line) replies:
//   "250-mx.example.test\r\n250-SIZE 1000\r\n250 8BITMIME\r\n" -> Reply{250, lines 3}
// The enhanced status code (RFC 3463, RFC 2034) is moved to Reply::esc when the
// first line starts with one of the reply's class ("5.1.1 " for a 5yz reply); it is
// then stripped from every line that starts with the same code.
//
// Limits (bad peers must not grow our memory): a line over kMaxLine octets, more
// than kMaxLines lines, a line that is not "DDD", "DDD text" or "DDD-text", a code
// outside 200..599, or continuation lines whose code changes -> Error, after
// which the parser stays in error (the connection is unusable). A bare LF ends a
// line too (Postfix and others are liberal here; the reply is only read).
// A line's text keeps no raw control octet or malformed UTF-8: such a line is shown
// escaped ("\x1b", log::escape), cut so that it stays within kMaxLine octets.
#include <cstddef>
#include <string>
#include <string_view>

#include "tern/smtp/reply.hpp"
#include "tern/util/line_framer.hpp"

namespace tern::smtp {

class ReplyParser {
 public:
  static constexpr std::size_t kMaxLine = 2048;  // RFC 5321 4.5.3.1.5 says 512; be liberal
  static constexpr std::size_t kMaxLines = 200;

  enum class Status { Reply, NeedMore, Error };
  struct Result {
    Status status = Status::NeedMore;
    smtp::Reply reply;  // for Status::Reply
    std::string error;  // for Status::Error
  };

  void feed(std::string_view bytes);
  Result next();
  // Input received but not yet parsed into replies (the STARTTLS injection check:
  // anything here after the 220 to STARTTLS was sent before the handshake).
  bool has_buffered() const { return !framer_.empty() || partial_lines_ > 0; }
  // Drop buffered input and any partial reply (after STARTTLS, RFC 3207 §4.2).
  void clear();

 private:
  util::LineFramer framer_{kMaxLine};
  smtp::Reply cur_;
  std::size_t partial_lines_ = 0;
  std::string error_;
};

// Parse one complete reply text (tests, tools): the whole input must be exactly
// one reply. Error text in `error` when it is not.
ReplyParser::Result parse_reply(std::string_view text);

}  // namespace tern::smtp
