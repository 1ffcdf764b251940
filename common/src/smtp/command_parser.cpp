// SMTP command parser. Grammar: RFC 5321 §4.1.1 (verbs), §4.1.2 (paths and
// Mail-parameters = esmtp-param *(SP esmtp-param)), plus the parameters of the
// extensions tern advertises. Verbs are case-insensitive (§2.4).
#include <algorithm>
#include "tern/smtp/command.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace tern::smtp {
namespace {

ParseError err(ParseErrc c, std::string d) { return ParseError{c, std::move(d)}; }

bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_esmtp_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(static_cast<unsigned char>(k[0]))) return false;
  for (unsigned char c : k)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 adds UTF-8 non-ASCII.
bool is_esmtp_value(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c >= 0x80) continue;
    if (c < 33 || c > 126 || c == '=') return false;
  }
  return is_valid_utf8(v);
}

std::optional<std::uint64_t> parse_number(std::string_view s, std::size_t max_digits = 20) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return r;
}

struct Param {
  std::string key;  // upper-cased
  std::string_view value;
  bool has_value = false;
};

// Split "K1=V1 K2 K3=V3" (already positioned after the path). Empty parts from
// repeated spaces are tolerated.
std::optional<ParseError> split_params(std::string_view s, std::vector<Param>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') { ++i; continue; }
    auto end = s.find(' ', i);
    std::string_view tok = s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    i = end == std::string_view::npos ? s.size() : end;
    Param p;
    auto eq = tok.find('=');
    std::string_view key = tok.substr(0, eq);
    if (!is_esmtp_keyword(key)) return err(ParseErrc::Syntax, "Bad parameter syntax");
    p.key = upper(key);
    if (eq != std::string_view::npos) {
      p.value = tok.substr(eq + 1);
      p.has_value = true;
      if (!is_esmtp_value(p.value)) return err(ParseErrc::Syntax, "Bad parameter value syntax");
    }
    for (const auto& q : out)
      if (q.key == p.key) return err(ParseErrc::BadParameter, p.key + " given twice");
    out.push_back(p);
  }
  return std::nullopt;
}

// "FROM:" / "TO:" then optional spaces (tolerated: many clients send "FROM: <a@b>"),
// then the path, then parameters.
ParseResult parse_mail_rcpt(Verb verb, std::string_view rest) {
  const bool mail = verb == Verb::Mail;
  std::string_view kw = mail ? "FROM:" : "TO:";
  if (rest.size() < kw.size() || !iequals(rest.substr(0, kw.size()), kw))
    return err(ParseErrc::Syntax, mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
  rest.remove_prefix(kw.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  SmtpCommand cmd;
  cmd.verb = verb;
  std::size_t used = 0;
  PathError pe = parse_path(rest, mail, !mail, cmd.path, used);
  if (pe == PathError::TooLong)
    return err(ParseErrc::PathTooLong, "Address too long");
  if (pe != PathError::None)
    return err(mail ? ParseErrc::BadSenderPath : ParseErrc::BadRecipientPath, "Bad address syntax");
  rest.remove_prefix(used);
  if (!rest.empty() && rest.front() != ' ') return err(ParseErrc::Syntax, "Syntax error after address");
  std::vector<Param> params;
  if (auto e = split_params(rest, params)) return *e;
  for (const auto& p : params) {
    if (mail && p.key == "SIZE") {
      auto n = p.has_value ? parse_number(p.value) : std::nullopt;
      if (!n) return err(ParseErrc::BadParameter, "Bad SIZE value");
      cmd.mail.size = *n;
    } else if (mail && p.key == "BODY") {
      if (!p.has_value) return err(ParseErrc::BadParameter, "Bad BODY value");
      if (iequals(p.value, "7BIT")) cmd.mail.body = Body::SevenBit;
      else if (iequals(p.value, "8BITMIME")) cmd.mail.body = Body::EightBitMime;
      // BINARYMIME (RFC 3030) is not offered: treat it as an unsupported parameter value.
      else return err(ParseErrc::BadParameter, "Unsupported BODY value");
    } else if (mail && p.key == "SMTPUTF8") {
      if (p.has_value) return err(ParseErrc::BadParameter, "SMTPUTF8 takes no value");
      cmd.mail.smtputf8 = true;
    } else if (mail && p.key == "RET") {
      if (!p.has_value) return err(ParseErrc::BadParameter, "Bad RET value");
      if (iequals(p.value, "FULL")) cmd.mail.ret = Ret::Full;
      else if (iequals(p.value, "HDRS")) cmd.mail.ret = Ret::Hdrs;
      else return err(ParseErrc::BadParameter, "Bad RET value");
    } else if (mail && p.key == "ENVID") {
      auto v = p.has_value ? xtext_decode(p.value) : std::nullopt;
      // RFC 3461 §4.4: at most 100 characters, printable ASCII after decoding. A
      // decoded CR or LF would otherwise reach the next hop's MAIL command.
      if (!v || p.value.size() > 100 ||
          std::any_of(v->begin(), v->end(), [](char ch) { return ch < 0x20 || ch > 0x7e; }))
        return err(ParseErrc::BadParameter, "Bad ENVID value");
      cmd.mail.envid = *v;
    } else if (mail && p.key == "AUTH") {
      auto v = p.has_value ? xtext_decode(p.value) : std::nullopt;
      if (!v) return err(ParseErrc::BadParameter, "Bad AUTH value");
      cmd.mail.auth = *v;
    } else if (!mail && p.key == "NOTIFY") {
      if (!p.has_value) return err(ParseErrc::BadParameter, "Bad NOTIFY value");
      unsigned flags = 0;
      std::string_view v = p.value;
      while (true) {
        auto comma = v.find(',');
        auto item = v.substr(0, comma);
        unsigned f = iequals(item, "NEVER") ? notify_never
                   : iequals(item, "SUCCESS") ? notify_success
                   : iequals(item, "FAILURE") ? notify_failure
                   : iequals(item, "DELAY") ? notify_delay : 0u;
        if (f == 0 || (flags & f)) return err(ParseErrc::BadParameter, "Bad NOTIFY value");
        flags |= f;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
      if ((flags & notify_never) && flags != notify_never)
        return err(ParseErrc::BadParameter, "NOTIFY=NEVER must be alone");
      cmd.rcpt.notify = flags;
    } else if (!mail && p.key == "ORCPT") {
      // ORCPT=addr-type ";" xtext (RFC 3461 §4.2); addr-type is an atom.
      auto semi = p.value.find(';');
      if (!p.has_value || semi == std::string_view::npos || semi == 0 || semi + 1 == p.value.size() ||
          !xtext_decode(p.value.substr(semi + 1)) || p.value.size() > 500)
        return err(ParseErrc::BadParameter, "Bad ORCPT value");
      cmd.rcpt.orcpt = std::string(p.value);
    } else {
      return err(ParseErrc::UnknownParameter, "Unsupported parameter " + p.key);
    }
  }
  return cmd;
}

struct VerbEntry {
  std::string_view name;
  Verb verb;
};
constexpr std::array<VerbEntry, 14> verbs{{
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn}, {"HELP", Verb::Help},
    {"STARTTLS", Verb::Starttls}, {"AUTH", Verb::Auth},
}};

}  // namespace

std::string_view verb_name(Verb v) {
  for (const auto& e : verbs)
    if (e.verb == v) return e.name;
  return "?";
}

Reply reply_for(const ParseError& e) {
  switch (e.code) {
    case ParseErrc::UnknownCommand: return Reply(500, esc::invalid_command, e.detail);
    case ParseErrc::BadCharacter: return Reply(500, esc::syntax_error, e.detail);
    case ParseErrc::Syntax: return Reply(501, esc::syntax_error, e.detail);
    case ParseErrc::BadSenderPath: return Reply(501, esc::bad_sender_syntax, e.detail);
    case ParseErrc::BadRecipientPath: return Reply(501, esc::bad_dest_syntax, e.detail);
    case ParseErrc::PathTooLong: return Reply(501, esc::bad_dest_syntax, e.detail);
    case ParseErrc::UnknownParameter: return Reply(555, esc::bad_args, e.detail);
    case ParseErrc::BadParameter: return Reply(501, esc::bad_args, e.detail);
  }
  return Reply(500, esc::syntax_error, "Error");
}

std::optional<std::string> xtext_decode(std::string_view s) {
  // xtext = *( xchar / hexchar ); xchar = "!".."~" except "+" and "="; hexchar = "+" 2HEX
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size()) return std::nullopt;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;  // RFC 3461: upper-case hex only
      };
      int a = hex(s[i + 1]), b = hex(s[i + 2]);
      if (a < 0 || b < 0) return std::nullopt;
      out.push_back(static_cast<char>(a * 16 + b));
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string xtext_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('+');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

ParseResult parse_smtp_command(std::string_view line) {
  // Octets: control characters and NUL are never valid in a command; non-ASCII only
  // inside MAIL/RCPT (RFC 6531) and checked there as UTF-8.
  bool non_ascii = false;
  for (unsigned char c : line) {
    if (c < 32 && c != '\t') return err(ParseErrc::BadCharacter, "Invalid character in command");
    if (c == 127) return err(ParseErrc::BadCharacter, "Invalid character in command");
    if (c >= 0x80) non_ascii = true;
  }
  auto sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  // Trailing spaces are common (e.g. "DATA "); tolerate them.
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  const VerbEntry* found = nullptr;
  for (const auto& e : verbs)
    if (iequals(word, e.name)) found = &e;
  if (!found) return err(ParseErrc::UnknownCommand, "Command unrecognized");
  const Verb v = found->verb;
  if (non_ascii && v != Verb::Mail && v != Verb::Rcpt && v != Verb::Vrfy && v != Verb::Expn)
    return err(ParseErrc::BadCharacter, "Invalid character in command");
  SmtpCommand cmd;
  cmd.verb = v;
  switch (v) {
    case Verb::Helo:
    case Verb::Ehlo: {
      // RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ). We accept any single
      // printable token: many real clients send a bare IP or a non-FQDN name, and the
      // argument is only recorded in the Received header (§4.1.4 forbids refusing it).
      if (rest.empty() || rest.find(' ') != std::string_view::npos || rest.size() > max_domain)
        return err(ParseErrc::Syntax, std::string(found->name) + " requires a domain name");
      cmd.domain = std::string(rest);
      return cmd;
    }
    case Verb::Mail:
    case Verb::Rcpt:
      return parse_mail_rcpt(v, rest);
    case Verb::Data:
    case Verb::Rset:
    case Verb::Quit:
    case Verb::Starttls:
      if (!rest.empty()) return err(ParseErrc::Syntax, "Syntax error (no parameters allowed)");
      return cmd;
    case Verb::Noop:
    case Verb::Help:
    case Verb::Vrfy:
    case Verb::Expn:
      if ((v == Verb::Vrfy || v == Verb::Expn) && rest.empty())
        return err(ParseErrc::Syntax, "Argument required");
      cmd.argument = std::string(rest);
      return cmd;
    case Verb::Bdat: {
      // bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF (RFC 3030 §2)
      auto s2 = rest.find(' ');
      auto size = parse_number(rest.substr(0, s2), 19);
      if (!size) return err(ParseErrc::Syntax, "Syntax: BDAT size [LAST]");
      cmd.bdat_size = *size;
      if (s2 != std::string_view::npos) {
        if (!iequals(rest.substr(s2 + 1), "LAST")) return err(ParseErrc::Syntax, "Syntax: BDAT size [LAST]");
        cmd.bdat_last = true;
      }
      return cmd;
    }
    case Verb::Auth: {
      // "AUTH" SP sasl-mech [SP initial-response]; sasl-mech = 1*20 (ALPHA/DIGIT/"-"/"_")
      auto s2 = rest.find(' ');
      std::string_view mech = rest.substr(0, s2);
      if (mech.empty() || mech.size() > 20) return err(ParseErrc::Syntax, "Syntax: AUTH mechanism [initial-response]");
      for (unsigned char c : mech)
        if (!is_alnum(c) && c != '-' && c != '_') return err(ParseErrc::Syntax, "Bad mechanism name");
      cmd.auth_mechanism = upper(mech);
      if (s2 != std::string_view::npos) {
        std::string_view ir = rest.substr(s2 + 1);
        if (ir.empty() || ir.find(' ') != std::string_view::npos) return err(ParseErrc::Syntax, "Bad initial response");
        cmd.auth_initial = std::string(ir);
      }
      return cmd;
    }
  }
  return err(ParseErrc::UnknownCommand, "Command unrecognized");
}

}  // namespace tern::smtp
