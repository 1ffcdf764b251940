// libFuzzer target: the SASL mechanisms (PLAIN, LOGIN, SCRAM-SHA-256) driven by
// arbitrary client lines, and the base64 codec (canonical round trip).
// Input: byte 0 picks the mechanism (low 2 bits) and whether an initial response
// is given (bit 2); the rest is split at '\n' into client lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/auth/password.hpp"
#include "tern/sasl/sasl.hpp"
#include "tern/util/base64.hpp"

namespace {

const tern::auth::ScramCredential& credential() {
  // Few iterations: the fuzzer explores the parser, not PBKDF2.
  static const auto c = tern::auth::make_scram_credential("pencil", "fuzz-salt", 2);
  return c;
}

void check_base64(std::string_view s) {
  auto d = tern::util::base64_decode(s);
  if (d) {
    // Strict decoding accepts only the canonical form, so re-encoding gives it back.
    if (tern::util::base64_encode(*d) != s) std::abort();
    if (tern::util::base64_decoded_size(s) != d->size()) std::abort();
  }
  auto e = tern::util::base64_encode(s);
  auto back = tern::util::base64_decode(e);
  if (!back || *back != s) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_base64(in.substr(1));

  static const char* names[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256", "scram-sha-256"};
  tern::sasl::Options opts;
  opts.max_decoded = 512;
  opts.fake_salt_secret = "fuzz secret";
  if (data[0] & 8) opts.test_server_nonce = "fixed-nonce";
  auto m = tern::sasl::make_mechanism(names[data[0] & 3], opts);
  if (!m) std::abort();

  std::string_view rest = in.substr(1);
  auto next_line = [&]() {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    return line;
  };
  using Kind = tern::sasl::SaslStep::Kind;
  // The driver's part: SCRAM asks for the credential (NeedCredential); "nobody" is
  // unknown and gets the fake exchange.
  auto resolve = [&](tern::sasl::SaslStep s) {
    if (s.kind != Kind::NeedCredential) return s;
    if (s.authcid.empty()) std::abort();
    if (s.authcid == "nobody") return m->credential(std::nullopt);
    return m->credential(credential());
  };
  tern::sasl::SaslStep s =
      resolve((data[0] & 4) ? m->start(next_line()) : m->start(std::nullopt));
  int steps = 0;
  while (s.kind == Kind::Challenge && !rest.empty() && steps++ < 8) {
    // A challenge is always valid base64.
    if (!tern::util::base64_decode(s.challenge_b64)) std::abort();
    s = resolve(m->step(next_line()));
  }
  if (s.kind == Kind::NeedCredential) std::abort();  // resolve() answered it
  if (s.kind == Kind::Failure && s.reason == tern::sasl::FailReason::None) std::abort();
  if (s.kind == Kind::NeedVerify && (s.authcid.empty() || s.password.empty())) std::abort();
  return 0;
}
