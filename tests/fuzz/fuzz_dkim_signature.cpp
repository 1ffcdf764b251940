// libFuzzer target: DKIM tag lists, DKIM-Signature values and key records (RFC 6376
// §3.2, §3.5, §3.6.1) on arbitrary bytes never crash, and a message whose header is the
// input verifies to a bounded list of results without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/dkim/tag_list.hpp"
#include "tern/dkim/verifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string err;
  if (auto tags = tern::dkim::parse_tag_list(text, &err)) {
    for (const auto& t : *tags)
      if (t.value_end > text.size() || t.value_begin > t.value_end) std::abort();
  }
  (void)tern::dkim::parse_signature(text, &err);
  (void)tern::dkim::parse_key_record(text, &err);
  std::string msg = "DKIM-Signature:" + std::string(text) + "\r\nFrom: a@example.com\r\n\r\nbody\r\n";
  tern::dkim::Verifier v(msg);
  tern::checks::DnsAnswer key{tern::checks::DnsStatus::ok,
                              {{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 0}}};
  auto res = v.verify([&](std::string_view) { return &key; }, 1700000000);
  if (res.size() > tern::dkim::kMaxSignatures) std::abort();
  return 0;
}
