// LineFramer: see the contract in tern/util/line_framer.hpp.
//
// Why the framer never guesses at line ends: RFC 5321 §2.3.8 says lines end with
// CRLF only, and treating a bare LF (or CR) as an end is what makes SMTP smuggling
// possible. So a bare LF terminates a line only as a *reported* BareLf, and a CR
// inside a line is reported as BareCr; the protocol decides.
//
// Memory bound: at most max + 2 bytes of an unterminated line are kept. Beyond
// that the line is certainly over the limit (RFC 5321 §4.5.3.1.4 / §4.5.3.1.6
// limits are "excluding CRLF"), so it is dropped while we look for its LF, and
// TooLong is reported once, when that LF arrives — the session answers 500 after
// the client has finished sending the line, then goes on.
#include "tern/util/line_framer.hpp"

#include "tern/log/assert.hpp"

namespace tern::util {

namespace {
constexpr std::size_t kCompactAt = 4096;  // drop consumed bytes past this offset
}

void LineFramer::feed(std::string_view bytes) {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= kCompactAt) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

LineResult LineFramer::next() {
  TERN_ASSERT(pos_ <= buf_.size());
  std::string_view unread(buf_);
  unread.remove_prefix(pos_);
  const std::size_t lf = unread.find('\n');

  if (skipping_) {
    if (lf == std::string_view::npos) {
      // Still inside the overlong line: drop it all.
      buf_.clear();
      pos_ = 0;
      return {LineStatus::NeedMore, {}};
    }
    pos_ += lf + 1;
    skipping_ = false;
    return {LineStatus::TooLong, {}};
  }

  if (lf == std::string_view::npos) {
    if (unread.size() > max_ + 1) {
      // max_ + 2 bytes without LF: over the limit even if the last byte is the CR.
      skipping_ = true;
      buf_.clear();
      pos_ = 0;
    }
    // The memory bound of the header: an unterminated line keeps at most max + 1 octets.
    TERN_ASSERT(buf_.size() - pos_ <= max_ + 1);
    return {LineStatus::NeedMore, {}};
  }

  std::string_view content = unread.substr(0, lf);
  pos_ += lf + 1;
  bool crlf = !content.empty() && content.back() == '\r';
  if (crlf) content.remove_suffix(1);
  if (content.size() > max_) return {LineStatus::TooLong, {}};
  LineStatus status = LineStatus::Line;
  if (!crlf)
    status = LineStatus::BareLf;
  else if (content.find('\r') != std::string_view::npos)
    status = LineStatus::BareCr;
  return {status, std::string(content)};
}

void LineFramer::shrink() {
  if (pos_ != buf_.size()) return;
  std::string().swap(buf_);
  pos_ = 0;
}

std::string_view LineFramer::buffered() const {
  return std::string_view(buf_).substr(pos_);
}

void LineFramer::consume(std::size_t n) {
  const std::size_t avail = buf_.size() - pos_;
  pos_ += n < avail ? n : avail;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
}

void LineFramer::clear() {
  buf_.clear();
  pos_ = 0;
  skipping_ = false;
}

}  // namespace tern::util
