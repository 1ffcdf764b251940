// ternctl: parses the command line and the config, then runs one verb.
#include <cstdio>
#include <iostream>
#include <optional>
#include <set>

#include "commands.hpp"
#include "tern/config/config.hpp"
#include "tern/util/version.hpp"

int main(int argc, char** argv) {
  using namespace tern::ctl;
  if (tern::util::print_version_if_asked(argc, argv, "ternctl")) return 0;
  static const std::set<std::string> kValued = {"--config", "--password-hash", "--subject", "--body-file",
                                                "--days", "--domains", "--data-dir",
                                                "--selector", "--algo", "--bits", "--ip"};
  static const std::set<std::string> kFlags = {"--password-stdin", "--repair", "--help", "-h", "--json", "--check"};
  std::vector<std::string> words;
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    // "-5" is a (bad) value, not an option: let the verb reject it.
    if (a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
      std::string value;
      bool has_eq = false;
      if (auto eq = a.find('='); eq != std::string::npos && a.starts_with("--")) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_eq = true;
      }
      if (kValued.count(a)) {
        if (!has_eq) {
          if (i + 1 >= argc) return fail("option " + a + " needs a value", kUsage);
          value = argv[++i];
        }
        args.opts[a] = value;
      } else if (kFlags.count(a) && !has_eq) {
        args.opts[a] = "";
      } else {
        return fail("unknown option " + a + " (see ternctl --help)", kUsage);
      }
      continue;
    }
    words.push_back(a);
  }
  if (words.empty() || args.has("--help") || args.has("-h")) {
    print_usage();
    return words.empty() && !args.has("--help") && !args.has("-h") ? kUsage : kOk;
  }
  Context ctx;
  try {
    std::optional<std::filesystem::path> file;
    if (args.has("--config")) file = args.opts.at("--config");
    auto cfg = tern::config::load_config_or_default(file);
    ctx.data_dir = cfg.data_dir;
    ctx.config = cfg;
  } catch (const std::exception& e) {
    return fail(e.what(), kConfig);
  }
  // --data-dir overrides the config's data_dir (tests, one-off maintenance).
  if (args.has("--data-dir")) ctx.data_dir = args.opts.at("--data-dir");
  return run_command(words, args, ctx);
}
