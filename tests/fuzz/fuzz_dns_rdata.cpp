// Fuzz the DNS rdata decoders (tern/dns/records.hpp): the first byte picks the
// decoder; results must respect the limits the header promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/dns/records.hpp"

using namespace tern::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      std::size_t pos = 0;
      auto n = decode_name(in, pos);
      if (n && (n->size() > 253 || pos > in.size())) std::abort();
      break;
    }
    case 1: {
      auto m = decode_mx(in);
      if (m && m->host.size() > 253) std::abort();
      break;
    }
    case 2: {
      auto t = decode_txt(in);
      if (t && t->size() >= in.size() && !in.empty() && t->size() != 0) std::abort();
      break;
    }
    case 3:
      (void)decode_a(in);
      (void)decode_aaaa(in);
      break;
    default:
      (void)reverse_name(in);
      break;
  }
  return 0;
}
