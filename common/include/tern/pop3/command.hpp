#pragma once
// POP3 command parser (RFC 1939 §3, RFC 2449, RFC 2595, RFC 5034). Pure: no I/O, no
// globals, no logging; the same function is the fuzz target (tests/fuzz/fuzz_pop3_command).
//
// Input: one command line WITHOUT its CRLF. Length limits are the caller's job (the
// driver reads lines of at most kMaxCommandLine octets). Output: a typed Command or a
// ParseError that the session turns into "-ERR <describe(err)>".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tern::pop3 {

// RFC 2449 §4: "The maximum length of a command line is 255 octets, including the
// terminating CRLF." So at most 253 octets before the CRLF.
inline constexpr std::size_t kMaxCommandLine = 253;

enum class Verb {
  User, Pass, Stat, List, Uidl, Retr, Dele, Noop, Rset, Quit, Top, Capa, Stls, Auth
};

// The keyword as sent on the wire ("USER", ...).
std::string_view verb_name(Verb v);

struct Command {
  Verb verb = Verb::Noop;
  // Message number for LIST/UIDL (optional), RETR/DELE/TOP (required). 0 and numbers
  // beyond the maildrop are syntactically valid; the session answers "no such message".
  std::optional<std::uint64_t> msg;
  // TOP: number of body lines (>= 0).
  std::uint64_t lines = 0;
  // USER: the name. PASS: the whole rest of the line after "PASS " (RFC 1939 §7:
  // a password may contain spaces). AUTH: the mechanism name, upper-cased (empty when
  // AUTH was sent alone, which asks for the mechanism list).
  std::string arg;
  // AUTH: the initial response (RFC 5034 §4), still base64; "=" means empty.
  std::optional<std::string> initial_response;
};

enum class ParseError {
  Empty,            // empty line
  BadCharacters,    // NUL or another control character in the line
  UnknownCommand,   // keyword not one we implement (APOP included)
  MissingArgument,  // e.g. "RETR"
  TooManyArguments, // e.g. "STAT 1"
  BadNumber,        // not a decimal number, or absurdly long
  BadMechanism      // AUTH mechanism name not of RFC 4422 §3.1 syntax
};

// Short human text for "-ERR <text>" (no CRLF, no response code).
std::string_view describe(ParseError e);

using ParseResult = std::variant<Command, ParseError>;

ParseResult parse_command(std::string_view line);

}  // namespace tern::pop3
