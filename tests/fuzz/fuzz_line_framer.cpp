// Fuzz LineFramer: the first byte picks the limit and the chunk size; the results
// must not depend on how the input is split, and every returned line must respect
// the limit and contain no LF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tern/util/line_framer.hpp"

using tern::util::LineFramer;
using tern::util::LineStatus;

namespace {

std::vector<std::pair<LineStatus, std::string>> run(std::size_t max, std::string_view in,
                                                    std::size_t chunk) {
  LineFramer f(max);
  std::vector<std::pair<LineStatus, std::string>> out;
  for (std::size_t off = 0; off < in.size(); off += chunk) {
    f.feed(in.substr(off, chunk));
    for (;;) {
      auto r = f.next();
      if (r.status == LineStatus::NeedMore) break;
      if (r.text.size() > max || r.text.find('\n') != std::string::npos) std::abort();
      if (r.status == LineStatus::Line && r.text.find('\r') != std::string::npos) std::abort();
      out.emplace_back(r.status, std::move(r.text));
    }
    if (f.buffered().size() > max + 2 + chunk) std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t max = data[0] & 0x3f;
  const std::size_t chunk = (data[0] >> 6) + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  if (run(max, in, in.size() ? in.size() : 1) != run(max, in, chunk)) std::abort();
  return 0;
}
