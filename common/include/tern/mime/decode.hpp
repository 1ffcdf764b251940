#pragma once
// Header and text decoding to UTF-8: charsets (glibc iconv), RFC 2047 encoded words,
// RFC 2231 parameter values. Pure (iconv descriptors are opened per call; the only
// shared state is a read-only C.UTF-8 locale object for case folding). For SEARCH, SORT, THREAD and the web panel; ENVELOPE and BODYSTRUCTURE carry
// the raw values instead (RFC 9051).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/message.hpp"

namespace tern::mime {

// Converts `bytes` in `charset` to UTF-8. US-ASCII and UTF-8 are checked, not converted
// (invalid UTF-8 sequences become U+FFFD); an unknown charset gives nullopt. Input is
// bounded by the caller (a message is at most the message size limit).
std::optional<std::string> to_utf8(std::string_view bytes, std::string_view charset);

// Like to_utf8, but never fails: an unknown charset or undecodable input falls back to
// UTF-8 if the bytes are valid UTF-8, else ISO-8859-1 (8-bit headers of old mailers).
std::string to_utf8_lenient(std::string_view bytes, std::string_view charset = "utf-8");

// Whether `s` is valid UTF-8 (RFC 3629: no overlongs, no surrogates).
bool valid_utf8(std::string_view s);

// Unfolds a raw header value and decodes its RFC 2047 encoded words ("=?cs?B?..?=",
// "=?cs?Q?..?=", RFC 2231 "cs*lang" accepted) into UTF-8; whitespace between adjacent
// encoded words is dropped (RFC 2047 6.2). Raw 8-bit text is taken as UTF-8, or
// ISO-8859-1 when it is not valid UTF-8. Malformed encoded words stay as written.
std::string decode_header_value(std::string_view raw);

// RFC 2231: merges "name*0", "name*1*", ... sections and decodes "charset'lang'%XX"
// values to UTF-8; plain parameters pass unchanged (their values are decoded as RFC 2047
// too: many mailers send name="=?UTF-8?B?...?="). Names are lower-cased, without '*'.
// At most 1000 sections per parameter (a bound for hostile input).
std::vector<Param> decode_params(const std::vector<Param>& params);

// The decoded file name of a part: Content-Disposition filename, else Content-Type name.
std::optional<std::string> part_filename(const Part& p);

// UTF-8 case folding for case-insensitive comparison (SEARCH, SORT): simple lower-case
// mapping of each code point (towlower in C.UTF-8), plus ß → ss is NOT done (RFC 5051
// i;unicode-casemap uses titlecase + NFKD; we use simple lower-case, like Dovecot's
// default comparator in practice for substring search).
std::string fold_case(std::string_view utf8);

// The comparison key of SORT strings (RFC 5256 3, RFC 5957): i;unicode-casemap maps to
// titlecase, approximated here by the simple upper-case mapping of each code point
// (towupper in C.UTF-8; titlecase differs only for a few digraphs). Upper, not lower,
// matters for order: "[x]" and "_" sort after letters, as Dovecot sorts them.
std::string casemap_key(std::string_view utf8);

}  // namespace tern::mime
