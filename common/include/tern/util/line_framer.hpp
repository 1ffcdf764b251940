#pragma once
// LineFramer: a pure, bounded, incremental CRLF line splitter (no Asio, no I/O).
// feed() appends bytes; next() returns the next complete line or NeedMore.
// It never guesses: a line ended by a bare LF is reported as BareLf, a CR not
// followed by LF inside a line as BareCr (the line's text is still returned so the
// protocol can decide), and a line longer than `max` octets (excluding CRLF) as
// TooLong — after which the framer skips input up to and including the next LF and
// reports TooLong once for that line, so the session can answer 500 and go on.
#include <cstddef>
#include <string>
#include <string_view>

namespace tern::util {

enum class LineStatus { Line, NeedMore, TooLong, BareLf, BareCr };

struct LineResult {
  LineStatus status = LineStatus::NeedMore;
  std::string text;  // the line without its terminator (for Line, BareLf, BareCr)
};

class LineFramer {
 public:
  explicit LineFramer(std::size_t max) : max_(max) {}
  void set_max(std::size_t max) { max_ = max; }
  void feed(std::string_view bytes);
  LineResult next();
  // Bytes received but not yet returned as lines (used for raw reads: BDAT, DATA).
  std::string_view buffered() const;
  // Remove n bytes from the front of buffered() (after a raw read consumed them).
  void consume(std::size_t n);
  // Drop everything buffered (STARTTLS: input pipelined before the upgrade).
  void clear();
  bool empty() const { return buffered().empty(); }
  // When nothing is buffered, give the buffer's memory back (an idle connection
  // should hold none).
  void shrink();

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;       // start of unread data in buf_
  bool skipping_ = false;     // inside an overlong line, dropping to the next LF
};

}  // namespace tern::util
