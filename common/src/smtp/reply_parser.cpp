// SMTP reply parsing for the outbound client (reply_parser.hpp).
#include "tern/smtp/reply_parser.hpp"

#include <cctype>

#include "tern/log/log.hpp"

namespace tern::smtp {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// "5.1.1" with the reply's class digit first; returns its length (0 = none).
std::size_t enhanced_code_len(std::string_view t, int code) {
  if (t.size() < 5 || t[0] != static_cast<char>('0' + code / 100) || t[1] != '.') return 0;
  std::size_t i = 2, n = 0;
  while (i < t.size() && digit(t[i]) && n < 3) ++i, ++n;
  if (n == 0 || i >= t.size() || t[i] != '.') return 0;
  ++i;
  n = 0;
  while (i < t.size() && digit(t[i]) && n < 3) ++i, ++n;
  if (n == 0) return 0;
  if (i < t.size() && t[i] != ' ') return 0;
  return i;
}

// The peer's text goes on into the queue's last error, DSNs, delivery events, ternctl
// output and the panel: a control octet (ESC, NUL, a bare CR, DEL) or malformed UTF-8
// is shown as "\xNN" (log::escape), so a peer cannot colour an admin's terminal or
// break a report line. Plain ASCII text, the usual case, is kept as it is.
std::string printable(std::string_view t) {
  bool ascii = true;
  std::size_t backslashes = 0;
  for (unsigned char c : t) {
    if (c < 0x20 || c >= 0x7f) ascii = false;
    if (c == '\\') ++backslashes;
  }
  if (ascii) return std::string(t);
  std::string e = log::escape(t, t.size());
  // Only the backslashes doubled: well-formed UTF-8, keep the text as the peer wrote it.
  if (e.size() == t.size() + backslashes) return std::string(t);
  // Escaping may grow a line fourfold: keep it within kMaxLine (input cut, "..." marks it).
  if (e.size() > ReplyParser::kMaxLine) e = log::escape(t, (ReplyParser::kMaxLine - 3) / 4);
  return e;
}

}  // namespace

void ReplyParser::feed(std::string_view bytes) { framer_.feed(bytes); }

void ReplyParser::clear() {
  framer_.clear();
  cur_ = Reply{};
  partial_lines_ = 0;
}

ReplyParser::Result ReplyParser::next() {
  Result r;
  if (!error_.empty()) {
    r.status = Status::Error;
    r.error = error_;
    return r;
  }
  auto fail = [&](std::string why) {
    error_ = std::move(why);
    r.status = Status::Error;
    r.error = error_;
    return r;
  };
  for (;;) {
    auto line = framer_.next();
    if (line.status == util::LineStatus::NeedMore) return r;
    if (line.status == util::LineStatus::TooLong) return fail("reply line too long");
    const std::string& t = line.text;  // Line, BareLf, BareCr: take the text
    if (t.size() < 3 || !digit(t[0]) || !digit(t[1]) || !digit(t[2]) ||
        (t.size() > 3 && t[3] != ' ' && t[3] != '-'))
      return fail("malformed reply line");
    int code = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
    if (code < 200 || code > 599) return fail("reply code out of range");
    if (partial_lines_ > 0 && code != cur_.code) return fail("reply code changed inside a multi-line reply");
    if (++partial_lines_ > kMaxLines) return fail("too many reply lines");
    cur_.code = code;
    std::string_view text = t.size() > 4 ? std::string_view(t).substr(4) : std::string_view{};
    if (partial_lines_ == 1) {
      if (auto n = enhanced_code_len(text, code)) cur_.esc = std::string(text.substr(0, n));
    }
    if (!cur_.esc.empty() && text.substr(0, cur_.esc.size()) == cur_.esc &&
        (text.size() == cur_.esc.size() || text[cur_.esc.size()] == ' ')) {
      text.remove_prefix(cur_.esc.size());
      if (!text.empty()) text.remove_prefix(1);
    }
    cur_.lines.push_back(printable(text));
    bool last = t.size() == 3 || t[3] == ' ';
    if (last) {
      r.status = Status::Reply;
      r.reply = std::move(cur_);
      cur_ = Reply{};
      partial_lines_ = 0;
      return r;
    }
  }
}

ReplyParser::Result parse_reply(std::string_view text) {
  ReplyParser p;
  p.feed(text);
  auto r = p.next();
  if (r.status == ReplyParser::Status::Reply && p.has_buffered()) {
    ReplyParser::Result e;
    e.status = ReplyParser::Status::Error;
    e.error = "text after the reply";
    return e;
  }
  if (r.status == ReplyParser::Status::NeedMore) {
    r.status = ReplyParser::Status::Error;
    r.error = "incomplete reply";
  }
  return r;
}

}  // namespace tern::smtp
