#pragma once
// IMAP command reader (RFC 3501 §2.2, RFC 9051 §2.2 and §4.3, RFC 7888 LITERAL+/-,
// RFC 3516 literal8). Pure: no I/O, no globals, no logging; fed bytes, returns events.
// The same class is the fuzz target (tests/fuzz/fuzz_imap_command.cpp).
//
//   CommandParser p(limits);
//   p.feed(bytes_from_socket);
//   for (;;) {
//     ParseEvent e = p.next();
//     NeedMore      → read more and feed()
//     Continue      → a synchronizing literal {n} passed every limit: send "+ ..." now
//     Command       → e.command is complete (its literals included)
//     Bad           → answer "<e.tag> BAD <e.text>" (tag "*" when none could be read)
//     LiteralTooBig → a synchronizing literal over the limit: answer "<tag> NO [TOOBIG]";
//                     no "+" was asked for, so the client sends no literal bytes and
//                     the rest of that command is dropped
//     Fatal         → a non-synchronizing literal over the limit (its bytes are coming
//                     and cannot be told apart from commands), or an overlong line
//                     still without its end after skip_limit() octets: answer BAD
//                     and close
//   }
//
// Limits are checked before any continuation is asked for (design §6): the command
// text without its literals is at most line_max octets; a literal is at most
// literal_max octets in APPEND and at most line_max in any other command; the sum of a
// command's literals is bounded the same way; lists nest at most nesting_max deep.
// LITERAL- (RFC 7888 §4): with `literal_minus`, a non-synchronizing literal over 4096
// octets is Fatal.
//
// A command line ends at CRLF; a bare LF is accepted too (clients on Unix pipes).
//
// Arguments are tokens: atoms (a bracketed part such as BODY[HEADER.FIELDS (A B)] is
// kept inside its atom, spaces and all, with any <partial> after it), strings (quoted
// or literal) and parenthesised lists. NIL is an atom; the command decides.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::imap {

struct ParserLimits {
  // Dovecot's imap_max_line_length; RFC 7162 §4 asks servers to accept at least
  // 8192 octets because CONDSTORE/QRESYNC clients send long UID sets.
  std::size_t line_max = 64 * 1024;
  // [limits] message_size: the largest APPEND literal.
  std::uint64_t literal_max = 50ull << 20;
  // Parenthesised list depth (and SEARCH key depth, see search.hpp).
  std::size_t nesting_max = 32;
  // RFC 7888 LITERAL-: non-synchronizing literals at most 4096 octets.
  bool literal_minus = false;
};

struct Arg {
  enum class Type { Atom, String, List };
  Type type = Type::Atom;
  std::string text;        // Atom, String
  std::vector<Arg> list;   // List
  bool literal = false;    // String sent as {n} / {n+}
  bool literal8 = false;   // String sent as ~{n} (RFC 3516 literal8)

  bool is_atom() const { return type == Type::Atom; }
  bool is_string() const { return type == Type::String; }
  bool is_list() const { return type == Type::List; }
  // Atom equal to `word`, ASCII case-insensitive.
  bool is(std::string_view word) const;
  bool is_nil() const { return is("NIL"); }
  // RFC 3501 astring: an atom or a string.
  bool is_astring() const { return type != Type::List; }
};

struct Command {
  std::string tag;
  std::string name;        // upper-cased ("UID FETCH" stays "UID"; args[0] is "FETCH")
  std::vector<Arg> args;
};

struct ParseEvent {
  enum class Kind { NeedMore, Continue, Command, Bad, LiteralTooBig, Fatal };
  Kind kind = Kind::NeedMore;
  Command command;   // Command
  std::string tag;   // Bad, LiteralTooBig, Fatal: the tag if it could be read, else "*"
  std::string text;  // Bad, LiteralTooBig, Fatal: the reason, for the reply
  std::string code;  // a response code for the reply ("TOOBIG"), or empty
};

class CommandParser {
 public:
  explicit CommandParser(ParserLimits limits = {});

  void set_limits(const ParserLimits& l) { limits_ = l; }
  const ParserLimits& limits() const { return limits_; }

  void feed(std::string_view bytes);
  ParseEvent next();

  // Raw line mode, between commands only (AUTHENTICATE responses, IDLE's DONE): one
  // line of at most `max` octets without its line end. TooLong: the line was longer;
  // it is skipped through its end.
  enum class LineStatus { Line, NeedMore, TooLong };
  LineStatus take_line(std::string& out, std::size_t max);

  // Bytes received and not yet consumed (a partial or pipelined command).
  bool has_input() const { return pos_ < buf_.size() || in_command(); }
  // STARTTLS (RFC 3501 §6.2.1, RFC 2595 §3.1): drop everything received before the
  // handshake, and any partial command.
  void discard_input();

 private:
  struct Segment {
    std::string line;     // command text up to a literal marker or the line end
    std::string literal;  // the literal that followed (if has_literal)
    bool has_literal = false;
    bool literal8 = false;
  };
  enum class Mode { Line, Literal, SkipLine };

  bool in_command() const { return !segs_.empty() || mode_ != Mode::Line; }
  void reset_command();
  std::string current_tag() const;
  std::uint64_t literal_limit() const;
  ParseEvent finish_command();
  void compact();

  ParserLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;        // first unconsumed byte in buf_
  std::size_t scanned_ = 0;    // bytes after pos_ already searched for LF
  Mode mode_ = Mode::Line;
  std::vector<Segment> segs_;  // the command being assembled
  std::size_t text_bytes_ = 0; // non-literal bytes of the command so far
  std::uint64_t literal_bytes_ = 0;
  std::uint64_t literal_left_ = 0;
  std::string skip_tag_;       // SkipLine: tag of the overlong command
  std::string skip_reason_;
  std::uint64_t skipped_ = 0;  // SkipLine: octets dropped so far
  // An overlong line is skipped up to its end (then BAD, and the session goes on);
  // past this many octets without a line end the input is garbage: Fatal.
  std::uint64_t skip_limit() const {
    return std::max<std::uint64_t>(4ull * limits_.line_max, 1ull << 20);
  }
};

// The tokenizer alone (fuzzing, tests): parses "tag SP name [SP args]" from one
// line without literals. Returns false with `error` set when malformed.
bool parse_command_line(std::string_view line, std::size_t nesting_max, Command& out,
                        std::string& error);

// Tag syntax (RFC 9051: 1*<any ASTRING-CHAR except "+">).
bool valid_tag(std::string_view tag);

}  // namespace tern::imap
