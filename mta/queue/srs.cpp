// SRS0 rewriting and reversal (srs.hpp).
#include "srs.hpp"

#include <cctype>

#include "tern/util/digest.hpp"

namespace tern::mta::queue {
namespace {

constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string hash(std::string_view secret, std::string_view tt, std::string_view domain,
                 std::string_view local) {
  std::string mac = util::hmac_sha256(secret, lower(std::string(tt) + "=" + std::string(domain) + "=" + std::string(local)));
  // 6 base32 characters = 30 bits of the MAC.
  std::uint64_t bits = 0;
  for (int i = 0; i < 4; ++i) bits = (bits << 8) | static_cast<unsigned char>(mac[static_cast<std::size_t>(i)]);
  std::string out;
  for (int i = 0; i < 6; ++i) out += kB32[(bits >> (27 - 5 * i)) & 31];
  return out;
}

int day_of(std::time_t now) { return static_cast<int>((now / 86400) % 1024); }

std::string stamp(std::time_t now) {
  int d = day_of(now);
  return {kB32[(d >> 5) & 31], kB32[d & 31]};
}

int decode_stamp(std::string_view tt) {
  if (tt.size() != 2) return -1;
  int v = 0;
  for (char c : tt) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const char* p = nullptr;
    for (const char* q = kB32; *q; ++q)
      if (*q == c) p = q;
    if (!p) return -1;
    v = v * 32 + static_cast<int>(p - kB32);
  }
  return v;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

std::string srs_forward(std::string_view secret, std::string_view sender,
                        std::string_view forwarding_domain, std::time_t now) {
  auto at = sender.rfind('@');
  if (at == std::string_view::npos) return std::string(sender);
  std::string_view local = sender.substr(0, at), domain = sender.substr(at + 1);
  if (iequal(domain, forwarding_domain) && local.size() > 5 && iequal(local.substr(0, 5), "SRS0="))
    return std::string(sender);
  std::string tt = stamp(now);
  return "SRS0=" + hash(secret, tt, domain, local) + "=" + tt + "=" + std::string(domain) + "=" +
         std::string(local) + "@" + std::string(forwarding_domain);
}

SrsDecoded srs_reverse(std::string_view secret, std::string_view address, std::time_t now) {
  SrsDecoded out;
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return out;
  std::string_view local = address.substr(0, at);
  if (local.size() < 5 || !iequal(local.substr(0, 5), "SRS0=")) return out;
  out.check = SrsCheck::malformed;
  std::string_view rest = local.substr(5);  // HASH=TT=domain=local
  auto p1 = rest.find('=');
  if (p1 == std::string_view::npos) return out;
  auto p2 = rest.find('=', p1 + 1);
  if (p2 == std::string_view::npos) return out;
  auto p3 = rest.find('=', p2 + 1);
  if (p3 == std::string_view::npos) return out;
  std::string_view h = rest.substr(0, p1), tt = rest.substr(p1 + 1, p2 - p1 - 1);
  std::string_view domain = rest.substr(p2 + 1, p3 - p2 - 1), orig_local = rest.substr(p3 + 1);
  if (domain.empty() || orig_local.empty()) return out;
  int d = decode_stamp(tt);
  if (d < 0) return out;
  if (!iequal(h, hash(secret, tt, domain, orig_local))) {
    out.check = SrsCheck::bad_hash;
    return out;
  }
  int age = (day_of(now) - d + 1024) % 1024;
  if (age > kSrsMaxAgeDays) {
    out.check = SrsCheck::expired;
    return out;
  }
  out.check = SrsCheck::ok;
  out.original = std::string(orig_local) + "@" + std::string(domain);
  return out;
}

}  // namespace tern::mta::queue
