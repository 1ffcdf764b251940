// libFuzzer target: DMARC records (RFC 9989 §4.7) and RFC5322.From domain extraction on
// arbitrary bytes never crash; a parsed record drives a full evaluation (every answer
// known, every name carrying the input as its record) that always ends with a verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/dmarc/dmarc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string err;
  auto rec = tern::dmarc::parse_record(text, &err);
  auto from = tern::dmarc::from_domain(text);
  if (from && from->empty()) std::abort();
  if (rec) {
    if (rec->rua.size() > 16) std::abort();
    tern::checks::DnsAnswer txt{tern::checks::DnsStatus::ok, {{std::string(text), 0}}};
    tern::dmarc::Input in;
    in.from_domain = "a.b.c.d.e.f.g.h.i.example.com";
    in.spf = {true, "example.com"};
    in.dkim = {{true, "x.example.com"}, {false, "example.org"}};
    auto step = tern::dmarc::evaluate(in, [&](const tern::checks::DnsQuestion&) { return &txt; });
    if (!step.verdict) std::abort();
  }
  return 0;
}
