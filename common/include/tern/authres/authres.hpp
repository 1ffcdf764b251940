#pragma once
// Authentication-Results (RFC 8601): building our header field, reading the authserv-id
// of arriving ones, and removing those that claim ours (§5: a forged field with our id
// must not reach the user). Pure.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::authres {

struct Property {
  std::string ptype_property;  // "smtp.mailfrom", "header.d", ...
  std::string value;           // quoted by the formatter when it must be (RFC 8601 §2.2)
};

struct MethodResult {
  std::string method;   // "spf", "dkim", "dmarc"
  std::string result;   // "pass", "fail", ...
  std::string comment;  // "" or free text, written as a (comment)
  std::vector<Property> properties;
};

// "Authentication-Results: <authserv-id>;\r\n\t<method>=<result> ...;\r\n\t...\r\n",
// one resinfo per line. No results gives "<authserv-id>; none" (§2.2).
std::string format_header(std::string_view authserv_id, const std::vector<MethodResult>& results);

// The authserv-id of an Authentication-Results field value (the text after the colon),
// comments and folding skipped: a token or a quoted-string. nullopt if there is none.
std::optional<std::string> authserv_id(std::string_view value);

// The message with every Authentication-Results field whose authserv-id equals
// `authserv_id` (case-insensitively) removed from its header; the body is untouched.
// *removed counts them. Input CRLF text; a header that cannot be split is left as is.
std::string remove_ours(std::string_view message, std::string_view authserv_id, int* removed);

// The RFC 2045 token test used for values (§2.2: value = token / quoted-string).
bool is_token(std::string_view s);

}  // namespace tern::authres
