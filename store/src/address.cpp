// Pure helpers: address/domain normalization and IMAP LIST pattern matching.
#include <idn2.h>

#include <cctype>
#include <string>

#include "tern/imap/list_match.hpp"
#include "tern/store/store.hpp"

namespace tern::store {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// RFC 1035 2.3.1 / RFC 5321 4.1.2: labels of letters, digits and hyphens, 1..63 octets,
// no leading/trailing hyphen, whole name at most 253 octets (255 on the wire). We also
// accept '_' (seen in internal names) but not an address literal.
// A mail domain has at least two labels and its top label is not all digits (RFC 3696
// §2), which refuses single labels ("localhost", "example") and IPv4 addresses.
// An internationalised name given in U-labels is stored as A-labels (IDNA2008 with the
// UTS #46 non-transitional mapping, libidn2): "bücher.example" → "xn--bcher-kva.example".
std::optional<std::string> normalize_domain(std::string_view domain) {
  domain = trim(domain);
  if (domain.empty() || domain.size() > 253) return std::nullopt;
  std::string d(domain);
  if (d.back() == '.') d.pop_back();
  if (d.empty()) return std::nullopt;
  bool ascii = true;
  for (unsigned char c : d) ascii = ascii && c < 0x80;
  if (!ascii) {
    if (d.find('\0') != std::string::npos) return std::nullopt;
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(d.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK || !out) {
      idn2_free(out);
      return std::nullopt;
    }
    d = out;
    idn2_free(out);
    if (d.size() > 253) return std::nullopt;
  }
  d = lower(d);
  std::size_t start = 0;
  int labels = 0;
  std::string_view last;
  while (start <= d.size()) {
    std::size_t dot = d.find('.', start);
    if (dot == std::string::npos) dot = d.size();
    std::string_view label(d.data() + start, dot - start);
    if (label.empty() || label.size() > 63) return std::nullopt;
    if (label.front() == '-' || label.back() == '-') return std::nullopt;
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return std::nullopt;
    ++labels;
    last = label;
    start = dot + 1;
    if (dot == d.size()) break;
  }
  if (labels < 2) return std::nullopt;
  if (last.find_first_not_of("0123456789") == std::string_view::npos) return std::nullopt;
  return d;
}

// RFC 5321 4.5.3.1.1: local part at most 64 octets; 4.1.2 dot-string. We accept the
// printable atext set plus dots (no quoted strings, no spaces), which covers real-world
// mailbox names; whole address at most 254 octets (RFC 5321 4.5.3.1.3 path 256 incl. <>).
std::optional<std::string> normalize_address(std::string_view address) {
  address = trim(address);
  if (address.size() > 254) return std::nullopt;
  std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view local = address.substr(0, at);
  if (local.size() > 64) return std::nullopt;
  if (local.front() == '.' || local.back() == '.') return std::nullopt;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~.";
  char prev = 0;
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    bool ok = std::isalnum(u) || kSpecials.find(c) != std::string_view::npos || u >= 0x80;
    if (!ok) return std::nullopt;
    if (c == '.' && prev == '.') return std::nullopt;
    prev = c;
  }
  auto dom = normalize_domain(address.substr(at + 1));
  if (!dom) return std::nullopt;
  return lower(local) + "@" + *dom;
}

// RFC 9051 6.3.9: '*' matches zero or more characters, '%' the same without the
// hierarchy delimiter; INBOX compares case-insensitively. One matcher for the store
// and tern-imapd: imap::list_match scans a set of pattern positions (no backtracking),
// so a pattern of many wildcards costs O(|pattern| x |name|), never exponential time.
bool mailbox_matches(std::string_view pattern, std::string_view name) {
  return imap::list_match(pattern, name, kHierarchyDelimiter);
}

}  // namespace tern::store
