#pragma once
// IMAP response encoding (RFC 9051 §4, §7): strings as atoms, quoted strings or
// literals, chosen by content, so a value can never break the response syntax.
// Pure; appends to a std::string.
#include <optional>
#include <string>
#include <string_view>

namespace tern::imap {

// A quoted string if `s` is short and has only 7-bit printable octets (no CR, LF,
// NUL), else a literal "{n}\r\n" + s. `utf8` (IMAP4rev2 / UTF8=ACCEPT): 8-bit UTF-8
// may be quoted too.
void append_string(std::string& out, std::string_view s, bool utf8 = false);
// An atom when `s` is non-empty, not "NIL" and only ASTRING-CHARs, else append_string.
void append_astring(std::string& out, std::string_view s, bool utf8 = false);
// NIL for nullopt, else append_string.
void append_nstring(std::string& out, const std::optional<std::string_view>& s, bool utf8 = false);
// Always a literal (message bodies): "{n}\r\n" + s; literal8 writes "~{n}".
void append_literal(std::string& out, std::string_view s, bool literal8 = false);
// The literal header alone ("{n}\r\n"), for bodies streamed after it.
void append_literal_header(std::string& out, std::uint64_t n, bool literal8 = false);

// Text safe for a resp-text (tagged/untagged text): CR, LF and other controls
// replaced by spaces, cut to `max` octets.
std::string safe_text(std::string_view s, std::size_t max = 200);

// RFC 9051 date-time: "\"dd-Mon-yyyy hh:mm:ss +0000\"" (UTC) for a unix time.
std::string format_date_time(long long unix_time);

}  // namespace tern::imap
