#pragma once
// IMAP LIST pattern matching (RFC 9051 §6.3.9) in bounded time: '*' matches any
// run of characters, '%' any run without the hierarchy delimiter. The pattern is
// matched by a set-of-positions scan (no backtracking), so "LIST "" *%*%*%...x"
// costs O(|pattern| x |name|) and never more (the Dovecot 2026 LIST blow-up).
// INBOX (any case, also as the first level) compares case-insensitively.
#include <string_view>

namespace tern::imap {

bool list_match(std::string_view pattern, std::string_view name, char delimiter = '/');

}  // namespace tern::imap
