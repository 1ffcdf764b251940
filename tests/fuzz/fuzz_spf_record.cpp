// libFuzzer target: SPF record parsing and macro expansion (RFC 7208 §4.5, §7) on
// arbitrary bytes never crash; an expansion that succeeds on a record the parser took
// stays bounded; and a whole check_host() over a zone where every name answers with the
// input as its TXT record always ends (limits) with a verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/spf/record.hpp"
#include "tern/spf/spf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string err;
  auto rec = tern::spf::parse_record(text, &err);
  tern::spf::MacroContext ctx;
  ctx.sender = "a.b-c@example.com";
  ctx.local_part = "a.b-c";
  ctx.sender_domain = ctx.domain = "example.com";
  ctx.ip = *tern::spf::IpAddress::parse("2001:db8::1");
  ctx.validated_ptr = [] { return std::optional<std::string>("mx.example.com"); };
  std::string out;
  for (bool exp : {false, true}) {
    if (tern::spf::expand_macros(text, ctx, exp, &out) == tern::spf::ExpandStatus::ok &&
        out.size() > text.size() * 200 + 64)
      std::abort();
  }
  if (rec) {
    tern::checks::DnsAnswer txt{tern::checks::DnsStatus::ok, {{text, 0}}};
    tern::checks::DnsAnswer a{tern::checks::DnsStatus::ok, {{"192.0.2.1", 0}}};
    tern::checks::DnsAnswer mx{tern::checks::DnsStatus::ok, {{"mx.example.com", 10}}};
    tern::checks::DnsAnswer nx{tern::checks::DnsStatus::nxdomain, {}};
    tern::spf::Request req;
    req.ip = "192.0.2.1";
    req.sender = "user@example.com";
    req.helo = "example.com";
    auto step = tern::spf::evaluate(req, [&](const tern::checks::DnsQuestion& q) -> const tern::checks::DnsAnswer* {
      switch (q.type) {
        case tern::checks::RrType::txt: return &txt;
        case tern::checks::RrType::a: return &a;
        case tern::checks::RrType::mx: return &mx;
        default: return &nx;
      }
    });
    if (!step.verdict) std::abort();  // every answer is known: it must finish
  }
  return 0;
}
