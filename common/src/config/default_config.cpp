// The embedded default config text (dev mode). Keep identical to conf/tern.default.toml;
// the unit test config_test.cpp compares the two.
#include "tern/config/config.hpp"

namespace tern::config {

std::string_view default_config_text() {
  static constexpr std::string_view text = R"TOML(
# tern: the embedded default config (dev mode), used when no --config is given.
# Everything on 127.0.0.1 with unprivileged ports; data under ./var (relative to the
# directory tern is started in). conf/tern.example.toml documents every key.
hostname = "localhost"
data_dir = "./var"
user = "tern"

[smtp]
listen = ["127.0.0.1:2525"]

[submission]
listen = ["127.0.0.1:2587"]

[submissions]
listen = ["127.0.0.1:2465"]

[imap]
listen = ["127.0.0.1:1143"]

[imaps]
listen = ["127.0.0.1:1993"]

[pop3]
listen = ["127.0.0.1:1110"]

[pop3s]
listen = ["127.0.0.1:1995"]

[web]
listen = ["127.0.0.1:8080"]

[log]
level = "info"
)TOML";
  return text.substr(1);  // drop the newline after the opening delimiter
}

}  // namespace tern::config
