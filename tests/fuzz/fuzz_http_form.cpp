// libFuzzer target: tern-web's request decoding around Beast — form bodies and query
// strings, percent-decoding, Cookie headers, route captures, the HTML escaper.
// Checks: no crash; decoded values respect the limits; escape() output never holds a
// raw '<', '>', '"', '\'' and is clean UTF-8; a captured route segment never holds '/'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/web/cookie.hpp"
#include "tern/web/form.hpp"
#include "tern/web/html.hpp"
#include "tern/web/http.hpp"
#include "tern/web/router.hpp"

using namespace tern::web;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  FormLimits lim;
  lim.max_fields = 16;
  lim.max_name = 32;
  lim.max_value = 128;
  auto f = parse_form(in, lim);
  if (f) {
    if (f.form->fields().size() > lim.max_fields) std::abort();
    for (auto& [k, v] : f.form->fields())
      if (k.size() > lim.max_name || v.size() > lim.max_value) std::abort();
  } else if (!f.error) {
    std::abort();
  }
  if (auto d = percent_decode(in, false)) {
    if (d->size() > in.size()) std::abort();
    if (percent_decode(percent_encode(*d), false) != d) std::abort();
  }
  auto cookies = parse_cookies(in);
  if (cookies.size() > kMaxCookies) std::abort();
  for (auto& [k, v] : cookies)
    if (k.empty() || v.find(';') != std::string::npos) std::abort();
  std::string esc = escape(in);
  if (esc.find_first_of("<>\"'") != std::string::npos) std::abort();
  if (!is_clean_text(esc, false)) std::abort();
  auto [path, query] = split_target(in);
  Params p;
  if (match_pattern("/mailboxes/{address}/{what}", path, p))
    for (auto& [k, v] : p)
      if (v.find('/') != std::string::npos || v.empty()) std::abort();
  return 0;
}
