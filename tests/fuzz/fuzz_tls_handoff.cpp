// libFuzzer: tls::decode (the supervisor -> daemon credentials message) on arbitrary
// bytes never crashes, and whatever it accepts re-encodes to exactly the input.
#include "tern/tls/credentials.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view wire(reinterpret_cast<const char*>(data), size);
  if (auto c = tern::tls::decode(wire)) {
    if (tern::tls::encode(*c) != wire) std::abort();
    if (c->cert_pem.size() > tern::tls::kMaxPemBytes || c->key_pem.size() > tern::tls::kMaxPemBytes) std::abort();
  }
  return 0;
}
