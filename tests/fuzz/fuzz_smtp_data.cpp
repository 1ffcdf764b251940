// libFuzzer target: the DATA decoder on arbitrary bytes, fed whole and split at a
// point taken from the input, must agree, and never consume past the terminator.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/smtp/data_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t cut = data[0] % (size);
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (cut > in.size()) cut = in.size();
  tern::smtp::DataReader a(tern::smtp::DataMode::Dot, 4096, 80), b(tern::smtp::DataMode::Dot, 4096, 80);
  std::string oa, ob;
  std::size_t na = a.feed(in, oa);
  std::size_t nb = b.feed(in.substr(0, cut), ob);
  if (!b.done()) nb += b.feed(in.substr(cut), ob);
  if (na != nb || oa != ob || a.done() != b.done() || a.outcome() != b.outcome()) std::abort();
  if (a.done() && (na < 3 || in.substr(na - 3, 3) != ".\r\n")) std::abort();
  if (oa.size() > 4096) std::abort();
  return 0;
}
