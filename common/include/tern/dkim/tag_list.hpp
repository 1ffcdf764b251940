#pragma once
// DKIM tag=value lists (RFC 6376 §3.2), as used by DKIM-Signature header fields and
// DKIM key records (and, with the same grammar, DMARC records, RFC 7489 §6.4).
// Pure and bounded: no allocation beyond the result, at most kMaxTags tags.
//
//   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
//   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//   tag-name = ALPHA *( ALPHA / DIGIT / "_" )
//   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]     tval = 1*( %x21-3A / %x3C-7E )
//
// Errors: a syntax error, a duplicate tag name (RFC 6376 §3.2: "MUST be treated as an
// error") or more than kMaxTags tags gives std::nullopt with a reason in *error.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::dkim {

struct Tag {
  std::string_view name;    // as written (tag names are case-sensitive)
  std::string_view value;   // FWS around the value trimmed; internal FWS kept
  std::size_t value_begin;  // offsets into the parsed text: [value_begin, value_end)
  std::size_t value_end;    // spans from just after '=' to just before ';' (or the end)
};

inline constexpr std::size_t kMaxTags = 64;

std::optional<std::vector<Tag>> parse_tag_list(std::string_view text, std::string* error);

// The value of tag `name`, or nullptr.
const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name);

// Remove every FWS character (SP, HTAB, CR, LF) from a value: for base64 tags (b=, bh=, p=).
std::string strip_fws(std::string_view v);

}  // namespace tern::dkim
