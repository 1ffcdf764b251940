// libFuzzer: parse_config on arbitrary bytes never crashes; ConfigError is the only
// allowed failure, and a config that parses dumps to TOML that parses again.
#include "tern/config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    tern::config::Config c = tern::config::parse_config(text, "fuzz.toml");
    std::string dump = tern::config::dump_config(c);
    tern::config::Config again = tern::config::parse_config(dump, "fuzz.toml");
    if (tern::config::dump_config(again) != dump) std::abort();
  } catch (const tern::config::ConfigError&) {
  }
  return 0;
}
