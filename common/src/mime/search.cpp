// SEARCH HEADER/BODY/TEXT helpers: decode, fold case, substring.
#include "tern/mime/search.hpp"

#include "tern/mime/address.hpp"
#include "tern/mime/decode.hpp"
#include "tern/mime/section.hpp"

namespace tern::mime {

TextNeedle::TextNeedle(std::string_view utf8) : folded_(fold_case(utf8)) {}

bool TextNeedle::found_in(std::string_view utf8) const {
  if (folded_.empty()) return true;
  return fold_case(utf8).find(folded_) != std::string::npos;
}

namespace {

bool is_address_field(std::string_view name) {
  for (std::string_view f : {"from", "to", "cc", "bcc", "sender", "reply-to", "resent-from", "resent-to",
                             "resent-cc", "resent-bcc", "resent-sender"})
    if (iequals(name, f)) return true;
  return false;
}

// An address field as its addresses say it: "Name <local@domain>, ..." with comments,
// quoting and folding gone, so "local@domain" is found in
// "<local (comment)@ (comment) domain>" too (as Dovecot searches address fields).
std::string addresses_text(std::string_view raw) {
  std::string out;
  for (const auto& a : parse_address_list(raw, 1000)) {
    if (!out.empty()) out += ", ";
    switch (a.kind) {
      case Address::Kind::mailbox:
        if (a.name) out += decode_header_value(*a.name) + " ";
        out += "<" + a.mailbox + "@" + a.host + ">";
        break;
      case Address::Kind::group_start:
        out += decode_header_value(a.mailbox) + ":";
        break;
      case Address::Kind::group_end:
        out += ";";
        break;
    }
  }
  return out;
}

}  // namespace

bool header_contains(std::string_view msg, const Part& entity, std::string_view field, const TextNeedle& needle) {
  const bool addresses = is_address_field(field);
  for (const auto& f : entity.headers) {
    if (!iequals(f.name(msg), field)) continue;
    if (needle.empty() || needle.found_in(decode_header_value(f.raw_value(msg)))) return true;
    if (addresses && needle.found_in(addresses_text(f.raw_value(msg)))) return true;
  }
  return false;
}

std::string decoded_text(std::string_view msg, const Part& p) {
  std::string_view body = slice(msg, p.body_begin, p.body_end - p.body_begin);
  std::string bytes = decode_transfer(body, p.encoding.value_or("7bit")).value_or(std::string(body));
  if (p.type != "text") return bytes;
  const std::string* cs = p.param("charset");
  return to_utf8_lenient(bytes, cs ? *cs : "us-ascii");
}

namespace {

bool all_headers_contain(std::string_view msg, const Part& e, const TextNeedle& needle) {
  for (const auto& f : e.headers) {
    std::string line(f.name(msg));
    line += ": ";
    line += decode_header_value(f.raw_value(msg));
    if (needle.found_in(line)) return true;
  }
  return false;
}

bool body_of(std::string_view msg, const Part& p, const TextNeedle& needle) {
  switch (p.kind) {
    case PartKind::multipart:
      for (const auto& c : p.children)
        if (body_of(msg, c, needle)) return true;
      return false;
    case PartKind::message:
      if (p.children.empty()) return false;
      return all_headers_contain(msg, p.children[0], needle) || body_of(msg, p.children[0], needle);
    case PartKind::leaf:
      if (p.type != "text" && p.has_content_type) return false;
      return needle.found_in(decoded_text(msg, p));
  }
  return false;
}

}  // namespace

bool body_contains(std::string_view msg, const Message& m, const TextNeedle& needle) {
  if (needle.empty()) return true;
  return body_of(msg, m.root, needle);
}

bool text_contains(std::string_view msg, const Message& m, const TextNeedle& needle) {
  if (needle.empty()) return true;
  return all_headers_contain(msg, m.root, needle) || body_of(msg, m.root, needle);
}

}  // namespace tern::mime
