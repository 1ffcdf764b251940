// Fuzz the SMTP reply parser (outbound client): the first byte picks a chunk size;
// replies must not depend on the split, respect the limits, and carry valid codes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tern/smtp/reply_parser.hpp"

using tern::smtp::ReplyParser;

namespace {
std::vector<std::string> run(std::string_view in, std::size_t chunk) {
  ReplyParser p;
  std::vector<std::string> out;
  for (std::size_t off = 0; off < in.size(); off += chunk) {
    p.feed(in.substr(off, chunk));
    for (;;) {
      auto r = p.next();
      if (r.status == ReplyParser::Status::NeedMore) break;
      if (r.status == ReplyParser::Status::Error) {
        out.push_back("E");
        return out;
      }
      if (r.reply.code < 200 || r.reply.code > 599) std::abort();
      if (r.reply.lines.empty() || r.reply.lines.size() > ReplyParser::kMaxLines) std::abort();
      std::string s = std::to_string(r.reply.code) + r.reply.esc;
      for (auto& l : r.reply.lines) {
        if (l.size() > ReplyParser::kMaxLine) std::abort();
        s += "|" + l;
      }
      out.push_back(s);
    }
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = data[0] % 16 + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (run(in, chunk) != run(in, in.size() + 1)) std::abort();
  return 0;
}
