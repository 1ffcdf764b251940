#include "options.hpp"

namespace tern::supervisor {

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string& error) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || a == "-c") {
      if (i + 1 >= args.size()) {
        error = a + " needs a file name";
        return std::nullopt;
      }
      o.config = args[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      o.config = a.substr(9);
    } else if (a == "--check-config") {
      o.check_config = true;
    } else if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else {
      error = "unknown option " + a;
      return std::nullopt;
    }
  }
  if (o.config && o.config->empty()) {
    error = "--config needs a file name";
    return std::nullopt;
  }
  return o;
}

}  // namespace tern::supervisor
