// libFuzzer target: parse_smtp_command() on arbitrary bytes never crashes, and every
// error maps to a well-formed reply.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/smtp/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = tern::smtp::parse_smtp_command(line);
  if (auto* e = std::get_if<tern::smtp::ParseError>(&r)) {
    auto rep = tern::smtp::reply_for(*e);
    if (rep.code < 500 || rep.code > 599 || rep.format().empty()) std::abort();
  } else {
    auto& c = std::get<tern::smtp::SmtpCommand>(r);
    if (c.path.address().size() > 256) std::abort();
  }
  return 0;
}
