#pragma once
// How a stored message goes on the POP3 wire (RFC 1939 §3 multi-line responses). Pure.
//
// The "POP3 form" of a message is defined as:
//   * every line ending (CRLF, a bare LF, or a bare CR) becomes CRLF;
//   * a message whose last line has no line ending gets a CRLF appended;
//   * an empty message stays empty (0 octets).
// LIST/STAT octet counts are exactly the length of the POP3 form (pop3_size()), i.e.
// what RETR sends before dot-stuffing and without the terminating ".\r\n"
// (RFC 1939 §5 LIST: "the exact size of the message in octets").
// On the wire, each line of the POP3 form that starts with "." gets one more "."
// (byte-stuffing) and the response ends with ".\r\n".
//
// MessageEncoder is incremental: feed() the stored bytes in chunks of any size (the
// store's body chunks); it never needs the whole message in memory.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::pop3 {

class MessageEncoder {
 public:
  // top_lines: nullopt = RETR (whole message); n = TOP msg n: the header, the blank
  // line that ends it, then at most n lines of body (RFC 1939 §7 TOP). A message with
  // no blank line is all header and is sent whole.
  explicit MessageEncoder(std::optional<std::uint64_t> top_lines = std::nullopt,
                          bool stuff = true)
      : top_(top_lines), stuff_(stuff) {}

  // Append the wire form of `chunk` to `out`. Returns false once the TOP limit has been
  // reached (further input is ignored; the caller may stop reading).
  bool feed(std::string_view chunk, std::string& out);
  // Append the end: a CRLF if the last line was unterminated, then ".\r\n" (only when
  // stuffing, i.e. producing the wire form). Call once.
  void finish(std::string& out);

  bool done() const { return done_; }
  // Octets of POP3 form produced so far (excludes stuffing dots and ".\r\n").
  std::uint64_t content_octets() const { return content_; }

 private:
  // out == nullptr: count only (Pop3SizeCounter).
  bool feed_impl(std::string_view chunk, std::string* out);
  void finish_impl(std::string* out);
  void end_line(std::string* out);
  void emit(std::string* out, std::string_view bytes);
  friend class Pop3SizeCounter;

  std::optional<std::uint64_t> top_;
  bool stuff_;
  bool pending_cr_ = false;     // last chunk ended with CR: is it CRLF or a bare CR?
  std::uint64_t line_len_ = 0;  // octets of the current line so far
  bool in_header_ = true;
  std::uint64_t body_lines_ = 0;
  bool done_ = false;
  std::uint64_t content_ = 0;
};

// The length of the POP3 form of `body` (see above). Same rules as MessageEncoder.
std::uint64_t pop3_size(std::string_view body);

// Incremental pop3_size over chunks.
class Pop3SizeCounter {
 public:
  void feed(std::string_view chunk);
  std::uint64_t finish();

 private:
  MessageEncoder enc_{std::nullopt, false};
};

}  // namespace tern::pop3
