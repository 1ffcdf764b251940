#include "tern/pop3/command.hpp"

#include <array>
#include <vector>

namespace tern::pop3 {

namespace {

struct VerbEntry {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbEntry, 14> kVerbs{{
    {"USER", Verb::User}, {"PASS", Verb::Pass}, {"STAT", Verb::Stat},
    {"LIST", Verb::List}, {"UIDL", Verb::Uidl}, {"RETR", Verb::Retr},
    {"DELE", Verb::Dele}, {"NOOP", Verb::Noop}, {"RSET", Verb::Rset},
    {"QUIT", Verb::Quit}, {"TOP", Verb::Top},   {"CAPA", Verb::Capa},
    {"STLS", Verb::Stls}, {"AUTH", Verb::Auth},
}};

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

// Split on runs of spaces. RFC 1939 §3 says "separated by a single SPACE"; we accept
// runs and trailing spaces too (clients in the wild send them) since no argument other
// than PASS's can contain a space.
std::vector<std::string_view> split_args(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A decimal number (RFC 1939 §3: message-number is a decimal). 19 digits always fit in
// uint64_t; anything longer cannot name a message and is refused.
std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// RFC 4422 §3.1: sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / "-" / "_".
// Clients may send lower case; POP3 keywords are case-insensitive, so we upper-case.
std::optional<std::string> parse_mechanism(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    char u = upper(c);
    bool ok = (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '_';
    if (!ok) return std::nullopt;
    out.push_back(u);
  }
  return out;
}

}  // namespace

std::string_view verb_name(Verb v) {
  for (const auto& e : kVerbs)
    if (e.verb == v) return e.name;
  return "?";
}

std::string_view describe(ParseError e) {
  switch (e) {
    case ParseError::Empty: return "empty command";
    case ParseError::BadCharacters: return "invalid characters in command";
    case ParseError::UnknownCommand: return "unknown command";
    case ParseError::MissingArgument: return "missing argument";
    case ParseError::TooManyArguments: return "too many arguments";
    case ParseError::BadNumber: return "invalid number";
    case ParseError::BadMechanism: return "invalid mechanism name";
  }
  return "syntax error";
}

ParseResult parse_command(std::string_view line) {
  if (line.empty()) return ParseError::Empty;
  // RFC 1939 §3: keywords and arguments are printable ASCII. Control characters
  // (NUL, TAB, bare CR/LF that slipped through, DEL) are refused outright; octets
  // >= 0x80 are let through to USER/PASS (UTF-8 names and passwords).
  for (char ch : line) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return ParseError::BadCharacters;
  }

  std::size_t sp = line.find(' ');
  std::string_view keyword = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);

  const VerbEntry* entry = nullptr;
  for (const auto& e : kVerbs)
    if (iequals(keyword, e.name)) entry = &e;
  if (!entry) return ParseError::UnknownCommand;

  Command cmd;
  cmd.verb = entry->verb;

  if (cmd.verb == Verb::Pass) {
    // RFC 1939 §7 PASS: "the POP3 server may treat spaces in the argument as part of
    // the password". Everything after the first space is the password.
    if (rest.empty()) return ParseError::MissingArgument;
    cmd.arg = std::string(rest);
    return cmd;
  }

  auto args = split_args(rest);
  auto want = [&](std::size_t min, std::size_t max) -> std::optional<ParseError> {
    if (args.size() < min) return ParseError::MissingArgument;
    if (args.size() > max) return ParseError::TooManyArguments;
    return std::nullopt;
  };

  switch (cmd.verb) {
    case Verb::Stat: case Verb::Noop: case Verb::Rset: case Verb::Quit:
    case Verb::Capa: case Verb::Stls:
      if (auto e = want(0, 0)) return *e;
      return cmd;
    case Verb::User:
      if (auto e = want(1, 1)) return *e;
      cmd.arg = std::string(args[0]);
      return cmd;
    case Verb::List: case Verb::Uidl:
      if (auto e = want(0, 1)) return *e;
      if (!args.empty()) {
        cmd.msg = parse_number(args[0]);
        if (!cmd.msg) return ParseError::BadNumber;
      }
      return cmd;
    case Verb::Retr: case Verb::Dele:
      if (auto e = want(1, 1)) return *e;
      cmd.msg = parse_number(args[0]);
      if (!cmd.msg) return ParseError::BadNumber;
      return cmd;
    case Verb::Top: {
      if (auto e = want(2, 2)) return *e;
      cmd.msg = parse_number(args[0]);
      auto n = parse_number(args[1]);
      if (!cmd.msg || !n) return ParseError::BadNumber;
      cmd.lines = *n;
      return cmd;
    }
    case Verb::Auth: {
      if (auto e = want(0, 2)) return *e;
      if (!args.empty()) {
        auto mech = parse_mechanism(args[0]);
        if (!mech) return ParseError::BadMechanism;
        cmd.arg = std::move(*mech);
      }
      if (args.size() == 2) cmd.initial_response = std::string(args[1]);
      return cmd;
    }
    case Verb::Pass:
      break;
  }
  return ParseError::UnknownCommand;
}

}  // namespace tern::pop3
