#include <algorithm>
#include <cctype>
#include <cstring>

#include "tern/imap/command.hpp"

namespace tern::imap {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// RFC 9051 ATOM-CHAR plus what astrings, flags, list patterns and sequence sets carry
// in atoms (']', '\\', '*', '%'). 8-bit octets are allowed in atoms (UTF-8 names).
bool atom_char(unsigned char c) {
  return !(c == '(' || c == ')' || c == '{' || c == ' ' || is_ctl(c) || c == '"');
}

// One line piece of a command, followed by its literal (if any).
struct Piece {
  std::string_view line;
  const std::string* literal = nullptr;
  bool literal8 = false;
};

// Tokenizes pieces into args. Iterative (explicit stack), depth bounded.
class Tokenizer {
 public:
  Tokenizer(const std::vector<Piece>& pieces, std::size_t nesting_max)
      : pieces_(pieces), nesting_max_(nesting_max) {}

  // Reads "tag SP name" then args. False + error_ on malformed input.
  bool run(Command& out) {
    if (pieces_.empty()) return fail("empty command");
    std::string_view l = pieces_[0].line;
    std::size_t sp = l.find(' ');
    std::string_view tag = l.substr(0, sp);
    if (tag.empty()) return fail("empty command");
    if (!valid_tag(tag)) return fail("invalid tag");
    out.tag = std::string(tag);
    if (sp == std::string_view::npos) return fail("missing command");
    std::size_t p = sp + 1;
    std::size_t e = p;
    while (e < l.size() && l[e] != ' ') ++e;
    std::string_view name = l.substr(p, e - p);
    if (name.empty()) return fail("missing command");
    for (unsigned char c : name)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return fail("invalid command name");
    if (e == l.size() && pieces_[0].literal) return fail("literal in place of the command name");
    out.name = upper(name);
    piece_ = 0;
    pos_ = e;
    // Args: each is preceded by one SP (we accept runs of spaces).
    std::vector<std::vector<Arg>*> stack{&out.args};
    std::vector<Arg> scratch;
    for (;;) {
      std::string_view line = pieces_[piece_].line;
      if (pos_ >= line.size()) {
        const Piece& pc = pieces_[piece_];
        if (pc.literal) {
          // The literal is an argument of its own, at the current list level.
          Arg a;
          a.type = Arg::Type::String;
          a.text = *pc.literal;
          a.literal = true;
          a.literal8 = pc.literal8;
          stack.back()->push_back(std::move(a));
          ++piece_;
          pos_ = 0;
          if (piece_ >= pieces_.size()) return fail("literal without the rest of its line");
          continue;
        }
        break;  // end of command
      }
      char c = line[pos_];
      if (c == ' ') {
        ++pos_;
        continue;
      }
      if (c == '(') {
        if (stack.size() > nesting_max_) return fail("lists nested too deeply");
        Arg a;
        a.type = Arg::Type::List;
        stack.back()->push_back(std::move(a));
        stack.push_back(&stack.back()->back().list);
        ++pos_;
        continue;
      }
      if (c == ')') {
        if (stack.size() == 1) return fail("unbalanced ')'");
        stack.pop_back();
        ++pos_;
        continue;
      }
      if (c == '"') {
        Arg a;
        a.type = Arg::Type::String;
        if (!quoted(line, a.text)) return false;
        stack.back()->push_back(std::move(a));
        continue;
      }
      if (c == '{' || (c == '~' && pos_ + 1 < line.size() && line[pos_ + 1] == '{'))
        return fail("literal not at the end of a line");
      Arg a;
      a.type = Arg::Type::Atom;
      if (!atom(line, a.text)) return false;
      stack.back()->push_back(std::move(a));
    }
    if (stack.size() != 1) return fail("unbalanced '('");
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  bool quoted(std::string_view line, std::string& out) {
    ++pos_;  // opening quote
    while (pos_ < line.size()) {
      unsigned char c = static_cast<unsigned char>(line[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= line.size()) break;
        char n = line[pos_ + 1];
        if (n != '\\' && n != '"') return fail("bad escape in quoted string");
        out.push_back(n);
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n' || c == 0) return fail("CR, LF or NUL in quoted string");
      out.push_back(static_cast<char>(c));
      ++pos_;
    }
    return fail("unterminated quoted string");
  }

  bool atom(std::string_view line, std::string& out) {
    std::size_t start = pos_;
    while (pos_ < line.size()) {
      unsigned char c = static_cast<unsigned char>(line[pos_]);
      if (c == '[') {
        // A section spec: everything up to the matching ']' belongs to the atom
        // (BODY[HEADER.FIELDS (From To)]); brackets do not nest in IMAP.
        // Without a ']' the '[' is an ordinary atom character (mailbox "a[b").
        if (section_end(line) != std::string_view::npos) {
          pos_ = section_end(line) + 1;
          continue;
        }
      }
      if (!atom_char(c)) break;
      ++pos_;
    }
    if (pos_ == start) return fail("unexpected character");
    out.assign(line.substr(start, pos_ - start));
    return true;
  }

  // For a '[' at pos_: the ']' that closes it as a section, or npos when the '[' is
  // an ordinary character (no ']' follows, or a CTL, '"' or '{' comes first). The
  // next ']' and the next such character are remembered for the line, so a line of
  // many '[' costs one pass, not one pass per '[' (quadratic).
  std::size_t section_end(std::string_view line) {
    constexpr std::size_t npos = std::string_view::npos;
    if (scan_piece_ != piece_) {
      scan_piece_ = piece_;
      close_at_ = bad_at_ = 0;
      close_done_ = bad_done_ = false;
    }
    if (!close_done_ && close_at_ <= pos_) {
      close_at_ = line.find(']', pos_);
      if (close_at_ == npos) close_done_ = true;
    }
    if (close_done_) return npos;
    if (!bad_done_ && bad_at_ <= pos_) {
      bad_at_ = npos;
      for (std::size_t i = pos_; i < line.size(); ++i) {
        unsigned char u = static_cast<unsigned char>(line[i]);
        if (is_ctl(u) || u == '"' || u == '{') {
          bad_at_ = i;
          break;
        }
      }
      if (bad_at_ == npos) bad_done_ = true;
    }
    if (!bad_done_ && bad_at_ < close_at_) return npos;
    return close_at_;
  }

  const std::vector<Piece>& pieces_;
  std::size_t nesting_max_;
  std::size_t piece_ = 0;
  std::size_t pos_ = 0;
  std::string error_;
  std::size_t scan_piece_ = static_cast<std::size_t>(-1);
  std::size_t close_at_ = 0, bad_at_ = 0;  // next ']' / CTL-'"'-'{' at or after a '['
  bool close_done_ = false, bad_done_ = false;  // none left in the line
};

// A literal marker at the end of a line: "{n}", "{n+}", "~{n}", "~{n+}".
struct Marker {
  bool found = false;
  bool valid = true;          // digits parsed without overflow
  std::uint64_t size = 0;
  bool sync = true;
  bool literal8 = false;
  std::size_t start = 0;      // where the marker begins in the line
};

Marker find_marker(std::string_view line) {
  Marker m;
  if (line.empty() || line.back() != '}') return m;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return m;
  std::string_view in = line.substr(open + 1, line.size() - open - 2);
  bool plus = false;
  if (!in.empty() && in.back() == '+') {
    plus = true;
    in.remove_suffix(1);
  }
  if (in.empty()) return m;
  for (char c : in)
    if (c < '0' || c > '9') return m;
  m.found = true;
  m.sync = !plus;
  m.start = open;
  if (open > 0 && line[open - 1] == '~') {
    m.literal8 = true;
    m.start = open - 1;
  }
  if (in.size() > 18) {
    m.valid = false;
    return m;
  }
  std::uint64_t v = 0;
  for (char c : in) v = v * 10 + static_cast<unsigned>(c - '0');
  m.size = v;
  return m;
}

}  // namespace

bool Arg::is(std::string_view word) const { return type == Type::Atom && ieq(text, word); }

bool valid_tag(std::string_view tag) {
  if (tag.empty()) return false;
  for (unsigned char c : tag) {
    // ASTRING-CHAR = ATOM-CHAR / "]"; ATOM-CHAR excludes ( ) { SP CTL % * " \ and
    // 8-bit; the tag also excludes "+".
    if (c >= 0x80 || is_ctl(c) || c == '(' || c == ')' || c == '{' || c == ' ' || c == '%' ||
        c == '*' || c == '"' || c == '\\' || c == '+')
      return false;
  }
  return true;
}

bool parse_command_line(std::string_view line, std::size_t nesting_max, Command& out,
                        std::string& error) {
  std::vector<Piece> pieces{Piece{line}};
  Tokenizer t(pieces, nesting_max);
  out = Command{};
  if (t.run(out)) return true;
  error = t.error();
  return false;
}

CommandParser::CommandParser(ParserLimits limits) : limits_(limits) {}

void CommandParser::feed(std::string_view bytes) {
  if (mode_ == Mode::SkipLine && pos_ == buf_.size()) {
    // Skipping an overlong line: keep only what follows its LF (bounded memory).
    std::size_t lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      skipped_ += bytes.size();
      return;
    }
    buf_.erase(0, pos_);
    pos_ = 0;
    scanned_ = 0;
    buf_.append("\n");  // stands for the LF that ends the skipped line
    buf_.append(bytes.substr(lf + 1));
    return;
  }
  compact();
  buf_.append(bytes);
}

void CommandParser::compact() {
  if (pos_ > 0 && (pos_ >= 4096 || pos_ * 2 >= buf_.size())) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void CommandParser::reset_command() {
  segs_.clear();
  skipped_ = 0;
  text_bytes_ = 0;
  literal_bytes_ = 0;
  literal_left_ = 0;
  mode_ = Mode::Line;
}

void CommandParser::discard_input() {
  reset_command();
  buf_.clear();
  pos_ = 0;
  scanned_ = 0;
}

std::string CommandParser::current_tag() const {
  std::string_view first;
  if (!segs_.empty()) {
    first = segs_[0].line;
  } else {
    first = std::string_view(buf_).substr(pos_);
    std::size_t lf = first.find('\n');
    if (lf != std::string_view::npos) first = first.substr(0, lf);
  }
  std::size_t sp = first.find(' ');
  if (sp == std::string_view::npos) return "*";
  std::string_view tag = first.substr(0, sp);
  return valid_tag(tag) ? std::string(tag) : std::string("*");
}

std::uint64_t CommandParser::literal_limit() const {
  // Only APPEND carries messages; every other command's literals are names,
  // passwords and search strings, bounded like the command text.
  if (!segs_.empty()) {
    std::string_view l = segs_[0].line;
    std::size_t sp = l.find(' ');
    if (sp != std::string_view::npos) {
      std::string_view rest = l.substr(sp + 1);
      std::string_view name = rest.substr(0, rest.find(' '));
      if (ieq(name, "APPEND")) return limits_.literal_max;
    }
  }
  return std::min<std::uint64_t>(limits_.literal_max, limits_.line_max);
}

ParseEvent CommandParser::finish_command() {
  std::vector<Piece> pieces;
  pieces.reserve(segs_.size());
  for (const auto& s : segs_)
    pieces.push_back(Piece{s.line, s.has_literal ? &s.literal : nullptr, s.literal8});
  ParseEvent ev;
  Tokenizer t(pieces, limits_.nesting_max);
  if (t.run(ev.command)) {
    ev.kind = ParseEvent::Kind::Command;
  } else {
    ev.kind = ParseEvent::Kind::Bad;
    ev.tag = ev.command.tag.empty() ? current_tag() : ev.command.tag;
    if (!valid_tag(ev.tag)) ev.tag = "*";
    ev.text = t.error();
    ev.command = Command{};
  }
  reset_command();
  return ev;
}

ParseEvent CommandParser::next() {
  for (;;) {
    if (mode_ == Mode::Literal) {
      std::size_t avail = buf_.size() - pos_;
      if (avail == 0) return {};
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(avail, literal_left_));
      segs_.back().literal.append(buf_, pos_, k);
      pos_ += k;
      literal_left_ -= k;
      scanned_ = 0;
      if (literal_left_ > 0) return {};
      mode_ = Mode::Line;
      continue;
    }

    std::string_view rest = std::string_view(buf_).substr(pos_);
    std::size_t lf = rest.find('\n', scanned_);
    if (mode_ == Mode::SkipLine) {
      if (lf == std::string_view::npos) {
        // feed() drops bytes while skipping; nothing buffered is kept.
        skipped_ += rest.size();
        buf_.clear();
        pos_ = 0;
        scanned_ = 0;
        if (skipped_ > skip_limit()) {
          // A client streaming bytes without a line end is not sending commands:
          // BAD and close, rather than skip forever.
          ParseEvent ev;
          ev.kind = ParseEvent::Kind::Fatal;
          ev.tag = skip_tag_;
          ev.text = "command line too long, no line end in sight";
          reset_command();
          return ev;
        }
        return {};
      }
      pos_ += lf + 1;
      scanned_ = 0;
      ParseEvent ev;
      ev.kind = ParseEvent::Kind::Bad;
      ev.tag = skip_tag_;
      ev.text = skip_reason_;
      reset_command();
      return ev;
    }
    if (lf == std::string_view::npos) {
      scanned_ = rest.size();
      if (text_bytes_ + rest.size() > limits_.line_max) {
        skip_tag_ = current_tag();
        skip_reason_ = "command line too long";
        skipped_ = text_bytes_ + rest.size();
        mode_ = Mode::SkipLine;
        buf_.clear();
        pos_ = 0;
        scanned_ = 0;
        segs_.clear();
      }
      return {};
    }
    std::string_view line = rest.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ += lf + 1;
    scanned_ = 0;
    text_bytes_ += line.size();
    if (text_bytes_ > limits_.line_max) {
      ParseEvent ev;
      ev.kind = ParseEvent::Kind::Bad;
      Segment s;
      s.line.assign(line.substr(0, 256));
      segs_.push_back(std::move(s));
      ev.tag = current_tag();
      ev.text = "command line too long";
      reset_command();
      return ev;
    }
    Marker m = find_marker(line);
    Segment seg;
    seg.line.assign(line.substr(0, m.found ? m.start : line.size()));
    if (!m.found) {
      segs_.push_back(std::move(seg));
      return finish_command();
    }
    seg.has_literal = true;
    seg.literal8 = m.literal8;
    segs_.push_back(std::move(seg));
    const std::uint64_t limit = literal_limit();
    bool too_big = !m.valid || m.size > limit || literal_bytes_ + m.size > limit;
    bool minus_violation = !m.sync && limits_.literal_minus && m.size > 4096;
    if (too_big || minus_violation) {
      ParseEvent ev;
      ev.tag = current_tag();
      ev.code = "TOOBIG";  // RFC 7888 §4, RFC 4469: the literal is over a limit
      if (m.sync) {
        ev.kind = ParseEvent::Kind::LiteralTooBig;
        ev.text = "literal too large (limit " + std::to_string(limit) + " octets)";
      } else {
        ev.kind = ParseEvent::Kind::Fatal;
        ev.text = minus_violation ? "non-synchronizing literal over 4096 octets (LITERAL-)"
                                  : "non-synchronizing literal too large (limit " +
                                        std::to_string(limit) + " octets)";
      }
      reset_command();
      return ev;
    }
    literal_bytes_ += m.size;
    literal_left_ = m.size;
    mode_ = m.size > 0 ? Mode::Literal : Mode::Line;
    if (m.sync) {
      ParseEvent ev;
      ev.kind = ParseEvent::Kind::Continue;
      return ev;
    }
  }
}

CommandParser::LineStatus CommandParser::take_line(std::string& out, std::size_t max) {
  for (;;) {
    std::string_view rest = std::string_view(buf_).substr(pos_);
    std::size_t lf = rest.find('\n', scanned_);
    if (mode_ == Mode::SkipLine) {
      if (lf == std::string_view::npos) {
        skipped_ += rest.size();
        buf_.clear();
        pos_ = 0;
        scanned_ = 0;
        // Past the cap: TooLong now, still skipping; the next next() is Fatal.
        if (skipped_ > skip_limit()) return LineStatus::TooLong;
        return LineStatus::NeedMore;
      }
      pos_ += lf + 1;
      scanned_ = 0;
      skipped_ = 0;
      mode_ = Mode::Line;
      return LineStatus::TooLong;
    }
    if (lf == std::string_view::npos) {
      scanned_ = rest.size();
      if (rest.size() > max) {
        skip_tag_ = "*";
        skip_reason_ = "line too long";
        skipped_ = rest.size();
        mode_ = Mode::SkipLine;
        buf_.clear();
        pos_ = 0;
        scanned_ = 0;
        continue;
      }
      return LineStatus::NeedMore;
    }
    std::string_view line = rest.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ += lf + 1;
    scanned_ = 0;
    if (line.size() > max) return LineStatus::TooLong;
    out.assign(line);
    return LineStatus::Line;
  }
}

}  // namespace tern::imap
