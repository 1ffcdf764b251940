// DATA/BDAT body decoder. See the header for the policy; the state machine tracks
// whether we are at the start of a line, where "start" means only "right after a
// CRLF" (RFC 5321 §2.3.8: lines end with CRLF; bare CR and LF are not line endings).
#include "tern/smtp/data_reader.hpp"

#include "tern/log/assert.hpp"

namespace tern::smtp {

void DataReader::emit(char c, std::string& out) {
  ++size_;
  if (size_ > max_size_) {
    too_big_ = true;
    return;
  }
  out.push_back(c);
}

void DataReader::end_line() {
  // line_max includes the CRLF (RFC 5321 §4.5.3.1.6).
  if (line_len_ + 2 > line_max_) long_line_ = true;
  line_len_ = 0;
}

std::size_t DataReader::feed(std::string_view in, std::string& out) {
  // The driver stops feeding at the terminator (what follows is the next command).
  TERN_ASSERT(!done_);
  std::size_t i = 0;
  const bool dot = mode_ == DataMode::Dot;
  while (i < in.size() && !done_) {
    const char c = in[i++];
    if (c == '\0') nul_ = true;
    switch (st_) {
      case St::LineStart:
        if (dot && c == '.') { st_ = St::Dot; ++line_len_; break; }
        [[fallthrough]];
      case St::InLine:
        if (c == '\r') { st_ = St::Cr; break; }
        if (c == '\n') bare_ = true;  // bare LF: data, never a line end
        ++line_len_;
        emit(c, out);
        st_ = St::InLine;
        break;
      case St::Dot:
        // ".\r" may be the terminator; anything else: the leading dot was stuffing
        // (§4.5.2: delete the first period of a line that has other characters).
        if (c == '\r') { st_ = St::DotCr; break; }
        if (c == '\n') bare_ = true;
        ++line_len_;
        emit(c, out);
        st_ = St::InLine;
        break;
      case St::DotCr:
        TERN_ASSERT(dot);  // Raw (BDAT) bodies have no terminator
        if (c == '\n') { done_ = true; break; }
        // ".<CR>x": a bare CR inside a stuffed line.
        bare_ = true;
        emit('\r', out);
        ++line_len_;
        st_ = St::InLine;
        --i;  // process c again as an ordinary octet
        break;
      case St::Cr:
        if (c == '\n') {
          emit('\r', out);
          emit('\n', out);
          end_line();
          st_ = St::LineStart;
          break;
        }
        bare_ = true;  // CR not followed by LF
        emit('\r', out);
        ++line_len_;
        st_ = St::InLine;
        --i;
        break;
    }
  }
  TERN_ASSERT(i <= in.size());
  return i;
}

void DataReader::finish() {
  TERN_ASSERT(mode_ == DataMode::Raw);  // a DATA body ends at its terminator, not here
  if (st_ == St::Cr || st_ == St::DotCr) bare_ = true;
  if (line_len_ + 2 > line_max_) long_line_ = true;
}

DataOutcome DataReader::outcome() const {
  if (too_big_) return DataOutcome::TooBig;
  if (bare_) return DataOutcome::BareLineEnding;
  if (long_line_) return DataOutcome::LineTooLong;
  if (nul_) return DataOutcome::Nul;
  return DataOutcome::Ok;
}

Reply DataReader::reject_reply() const {
  switch (outcome()) {
    case DataOutcome::Ok: return {};
    case DataOutcome::TooBig: return Reply(552, esc::too_big, "Message size exceeds fixed limit");
    case DataOutcome::BareLineEnding:
      return Reply(550, esc::syntax_error, "Bare CR or LF in message: lines must end with CRLF");
    case DataOutcome::LineTooLong: return Reply(500, esc::syntax_error, "Line too long in message");
    case DataOutcome::Nul: return Reply(554, esc::media_error, "NUL octet in message");
  }
  return {};
}

}  // namespace tern::smtp
