#include "tern/pop3/message_encoder.hpp"

namespace tern::pop3 {

void MessageEncoder::emit(std::string* out, std::string_view bytes) {
  content_ += bytes.size();
  if (out) out->append(bytes);
}

void MessageEncoder::end_line(std::string* out) {
  // Every line ending becomes CRLF: RFC 1939 §3 multi-line responses are CRLF-terminated
  // lines, and the octet count must match what is sent.
  emit(out, "\r\n");
  bool empty = line_len_ == 0;
  line_len_ = 0;
  if (!top_) return;
  // RFC 1939 §7 TOP: "the headers of the message, the blank line separating the headers
  // from the body, and then the number of lines of the indicated message's body".
  if (in_header_) {
    if (empty) {
      in_header_ = false;
      if (*top_ == 0) done_ = true;
    }
  } else if (++body_lines_ >= *top_) {
    done_ = true;
  }
}

bool MessageEncoder::feed_impl(std::string_view chunk, std::string* out) {
  if (done_) return false;
  const std::size_t n = chunk.size();
  std::size_t i = 0;
  if (n == 0) return true;
  if (pending_cr_) {
    // A CR ended the previous chunk: CRLF split across chunks, or a bare CR. Both end
    // the line; swallow the LF if it is there.
    pending_cr_ = false;
    end_line(out);
    if (chunk[0] == '\n') i = 1;
    if (done_) return false;
  }
  while (i < n) {
    // RFC 1939 §3: a line of a multi-line response that begins with the termination
    // octet is byte-stuffed with one more ".". The stuffing dot is not part of the
    // message, so it is not counted in content_.
    if (line_len_ == 0 && stuff_ && chunk[i] == '.' && out) out->push_back('.');
    std::size_t j = i;
    while (j < n && chunk[j] != '\r' && chunk[j] != '\n') ++j;
    if (j > i) {
      emit(out, chunk.substr(i, j - i));
      line_len_ += j - i;
    }
    if (j == n) break;
    if (chunk[j] == '\n') {
      end_line(out);
      i = j + 1;
    } else if (j + 1 < n) {
      end_line(out);
      i = chunk[j + 1] == '\n' ? j + 2 : j + 1;
    } else {
      pending_cr_ = true;
      i = n;
    }
    if (done_) return false;
  }
  return true;
}

void MessageEncoder::finish_impl(std::string* out) {
  if (!done_) {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line(out);
    } else if (line_len_ > 0) {
      end_line(out);  // last line had no line ending: terminate it
    }
    done_ = true;
  }
  if (stuff_ && out) out->append(".\r\n");
}

bool MessageEncoder::feed(std::string_view chunk, std::string& out) {
  return feed_impl(chunk, &out);
}

void MessageEncoder::finish(std::string& out) { finish_impl(&out); }

void Pop3SizeCounter::feed(std::string_view chunk) { enc_.feed_impl(chunk, nullptr); }

std::uint64_t Pop3SizeCounter::finish() {
  enc_.finish_impl(nullptr);
  return enc_.content_octets();
}

std::uint64_t pop3_size(std::string_view body) {
  Pop3SizeCounter c;
  c.feed(body);
  return c.finish();
}

}  // namespace tern::pop3
