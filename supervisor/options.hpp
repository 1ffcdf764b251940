#pragma once
// Command line of `tern`. Pure.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tern::supervisor {

struct Options {
  std::optional<std::filesystem::path> config;  // --config FILE
  bool check_config = false;                    // --check-config
  bool help = false;
  bool version = false;
};

// Parses argv[1..]. Returns nullopt and sets `error` ("unknown option --x") on bad input.
std::optional<Options> parse_options(const std::vector<std::string>& args, std::string& error);

inline constexpr const char* kUsage =
    "usage: tern [--config FILE] [--check-config] | --version\n"
    "  --config FILE   TOML config (default: the embedded dev config)\n"
    "  --check-config  validate the config, print the effective config, exit\n"
    "  --version       print the version and git commit, exit\n";

}  // namespace tern::supervisor
