// libFuzzer target: the MIME parser and everything built on it, on arbitrary bytes.
// Checks: offsets stay inside the message and ordered, the part count respects the
// limit, renderings are balanced, every section of every part can be extracted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mime/binary.hpp"
#include "tern/mime/decode.hpp"
#include "tern/mime/imap.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/search.hpp"
#include "tern/mime/section.hpp"
#include "tern/mime/thread.hpp"

namespace {

void check_part(std::string_view msg, const tern::mime::Message& m, const tern::mime::Part& p,
                std::vector<std::uint32_t>& path, int depth) {
  if (!(p.header_begin <= p.header_end && p.header_end <= p.body_begin && p.body_begin <= p.body_end &&
        p.body_end <= msg.size()))
    std::abort();
  if (depth > 101) std::abort();
  for (const auto& f : p.headers)
    if (f.begin < p.header_begin || f.end > p.header_end + 2 || f.value_end > f.end) std::abort();
  if (!path.empty()) {
    for (auto t : {tern::mime::Section::Text::none, tern::mime::Section::Text::mime, tern::mime::Section::Text::header,
                   tern::mime::Section::Text::text}) {
      tern::mime::Section s;
      s.part = path;
      s.text = t;
      (void)tern::mime::extract_section(msg, m, s);
    }
    (void)tern::mime::extract_binary(msg, m, path);
  }
  (void)tern::mime::decode_params(p.params);
  (void)tern::mime::part_filename(p);
  std::uint32_t n = 1;
  for (const auto& c : p.children) {
    path.push_back(n++);
    check_part(msg, m, c, path, depth + 1);
    path.pop_back();
  }
}

bool balanced(std::string_view s) {
  // Parentheses outside quoted strings and literals must balance.
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i)
        if (s[i] == '\\') ++i;
    } else if (c == '{') {
      std::size_t close = s.find('}', i);
      if (close == std::string_view::npos) return false;
      std::size_t n = std::stoul(std::string(s.substr(i + 1, close - i - 1)));
      i = close + 2 + n;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  tern::mime::Limits lim;
  lim.max_parts = 500;
  tern::mime::Message m = tern::mime::parse(msg, lim);
  if (m.parts > lim.max_parts) std::abort();
  std::vector<std::uint32_t> path;
  check_part(msg, m, m.root, path, 0);
  std::string bs = tern::mime::body_structure(msg, m.root, true);
  std::string env = tern::mime::envelope(msg, m.root);
  if (!balanced(bs) || !balanced(env)) std::abort();
  tern::mime::TextNeedle needle("x\xc3\xa9");
  (void)tern::mime::text_contains(msg, m, needle);
  auto t = tern::mime::thread_message(msg, m.root, 1, 0);
  (void)tern::mime::thread_references({t});
  if (auto sec = tern::mime::parse_section(msg.substr(0, 64))) (void)tern::mime::extract_section(msg, m, *sec);
  // APPEND of binary parts (RFC 3516): the re-encoded message parses again.
  if (auto conv = tern::mime::binary_parts_to_base64(msg, lim)) (void)tern::mime::parse(*conv, lim);
  return 0;
}
