#pragma once
// Sender Rewriting Scheme for forwarded mail (the scheme of postsrsd/Exim/libsrs2):
//   SRS0=HHHHHH=TT=orig-domain=orig-local@forwarding-domain
// HH.. = the first 6 base32 characters of HMAC-SHA256(secret, lower(TT=domain=local)),
// TT = days since the epoch mod 1024 in two base32 characters. The forwarded
// message's envelope sender is in the forwarding domain, so the destination's SPF
// check passes; a bounce to it is decoded (srs_reverse) and goes to the original
// sender. Hashes are compared case-insensitively (some MTAs fold local parts), and
// an address older than kMaxAgeDays or with a wrong hash is refused: nobody can
// use us as an open relay by making SRS addresses up.
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace tern::mta::queue {

inline constexpr int kSrsMaxAgeDays = 21;

// sender "user@orig.test" forwarded by domain "fwd.test" ->
// "SRS0=hash=TT=orig.test=user@fwd.test". A sender that is already an SRS0 address
// of fwd.test is returned unchanged.
std::string srs_forward(std::string_view secret, std::string_view sender,
                        std::string_view forwarding_domain, std::time_t now);

enum class SrsCheck { not_srs, ok, bad_hash, expired, malformed };

struct SrsDecoded {
  SrsCheck check = SrsCheck::not_srs;
  std::string original;  // "user@orig.test" when ok
};

// Decodes an address; not_srs when its local part does not start with "SRS0=".
SrsDecoded srs_reverse(std::string_view secret, std::string_view address, std::time_t now);

}  // namespace tern::mta::queue
