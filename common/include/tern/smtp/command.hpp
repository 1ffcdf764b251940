#pragma once
// SMTP command parser (RFC 5321 §4.1, with ESMTP parameters of RFC 1870 SIZE, 6152
// 8BITMIME, 6531 SMTPUTF8, 3461 DSN, 4954 AUTH, 3030 CHUNKING/BDAT).
// parse_smtp_command() is pure: no globals, no logging, no I/O. It checks syntax only;
// what the session allows (sequence, advertised extensions, limits) is the session's job.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "tern/smtp/address.hpp"
#include "tern/smtp/reply.hpp"

namespace tern::smtp {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, Starttls, Auth };
std::string_view verb_name(Verb v);

enum class Body { Unspecified, SevenBit, EightBitMime };
enum class Ret { Unspecified, Full, Hdrs };

// RFC 3461 §4.1 NOTIFY: NEVER, or any of SUCCESS, FAILURE, DELAY.
enum NotifyFlags : unsigned { notify_none = 0, notify_never = 1, notify_success = 2, notify_failure = 4, notify_delay = 8 };

struct MailParams {
  std::optional<std::uint64_t> size;  // SIZE= (RFC 1870)
  Body body = Body::Unspecified;      // BODY= (RFC 6152)
  bool smtputf8 = false;              // SMTPUTF8 (RFC 6531)
  Ret ret = Ret::Unspecified;         // RET= (RFC 3461 §4.3)
  std::string envid;                  // ENVID= (xtext-decoded, RFC 3461 §4.4)
  std::optional<std::string> auth;    // AUTH= (xtext-decoded mailbox or "<>", RFC 4954 §5)
};

struct RcptParams {
  unsigned notify = notify_none;  // NOTIFY=
  std::string orcpt;              // ORCPT= as given ("rfc822;a@b", xtext kept encoded)
};

struct SmtpCommand {
  Verb verb = Verb::Noop;
  std::string domain;       // HELO/EHLO argument
  Path path;                // MAIL FROM / RCPT TO
  MailParams mail;
  RcptParams rcpt;
  std::uint64_t bdat_size = 0;  // BDAT chunk size
  bool bdat_last = false;       // BDAT ... LAST
  std::string auth_mechanism;   // AUTH mechanism, upper-cased
  std::optional<std::string> auth_initial;  // AUTH initial response (base64 or "=")
  std::string argument;     // VRFY/EXPN/HELP/NOOP argument (raw)
};

enum class ParseErrc {
  UnknownCommand,   // 500 5.5.1
  BadCharacter,     // 500 5.5.2: NUL, control or non-ASCII octet outside a path
  Syntax,           // 501 5.5.2
  BadSenderPath,    // 501 5.1.7
  BadRecipientPath, // 501 5.1.3
  PathTooLong,      // 501 5.1.3 / 5.1.7 (RFC 5321 §4.5.3.1)
  UnknownParameter, // 555 5.5.4 (RFC 5321 §4.1.1.11)
  BadParameter,     // 501 5.5.4: a known parameter with a bad value or given twice
};

struct ParseError {
  ParseErrc code = ParseErrc::Syntax;
  std::string detail;  // a short human text for the reply
};

// The reply a parse error maps to.
Reply reply_for(const ParseError& e);

using ParseResult = std::variant<SmtpCommand, ParseError>;

// Parse one command line (without its CRLF). Never throws.
ParseResult parse_smtp_command(std::string_view line);

// RFC 3461 §4: xtext decoding ("+2B" -> "+"); nullopt when malformed.
std::optional<std::string> xtext_decode(std::string_view s);
// xtext encoding for printing DSN parameters back.
std::string xtext_encode(std::string_view s);

}  // namespace tern::smtp
