// RFC 3516 APPEND of binary parts: re-encode them as base64 (see binary.hpp).
#include "tern/mime/binary.hpp"

#include <algorithm>
#include <vector>

#include "tern/util/base64.hpp"

namespace tern::mime {

namespace {

struct Edit {
  std::size_t begin, end;
  std::string text;
};

void collect(std::string_view msg, const Part& p, std::vector<Edit>& edits) {
  if (p.kind != PartKind::leaf) {
    for (const auto& c : p.children) collect(msg, c, edits);
    return;
  }
  if (!p.encoding || !iequals(*p.encoding, "binary")) return;
  for (const auto& f : p.headers)
    if (iequals(f.name(msg), "content-transfer-encoding")) edits.push_back({f.value_begin, f.value_end, " base64"});
  std::string b64 = util::base64_encode(msg.substr(p.body_begin, p.body_end - p.body_begin));
  std::string body;
  body.reserve(b64.size() + b64.size() / 76 * 2 + 2);
  for (std::size_t i = 0; i < b64.size(); i += 76) {
    if (i) body += "\r\n";
    body.append(b64, i, 76);
  }
  // A body part's last line break belongs to the boundary after it (RFC 2046 5.1.1);
  // a body that runs to the end of the message ends with one of its own.
  if (p.body_end == msg.size() && !body.empty()) body += "\r\n";
  edits.push_back({p.body_begin, p.body_end, std::move(body)});
}

}  // namespace

std::optional<std::string> binary_parts_to_base64(std::string_view msg, const Limits& limits) {
  Message m = parse(msg, limits);
  std::vector<Edit> edits;
  collect(msg, m.root, edits);
  if (edits.empty()) return std::nullopt;
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(msg.size() + msg.size() / 3 + 64);
  std::size_t at = 0;
  for (const auto& e : edits) {
    if (e.begin < at) continue;  // overlapping (cannot happen for leaves): keep the first
    out.append(msg.substr(at, e.begin - at));
    out += e.text;
    at = e.end;
  }
  out.append(msg.substr(at));
  return out;
}

}  // namespace tern::mime
