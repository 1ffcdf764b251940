// The shared daemon start-up; see tern/daemon/entry.hpp.
#include "tern/daemon/entry.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "tern/log/assert.hpp"
#include "tern/log/log.hpp"
#include "tern/util/version.hpp"

namespace tern::daemon {

namespace {

void usage(const Spec& spec, std::FILE* f) {
  std::fprintf(f, "usage: %.*s [--config FILE]\n%.*s", static_cast<int>(spec.name.size()), spec.name.data(),
               static_cast<int>(spec.about.size()), spec.about.data());
}

}  // namespace

int run(int argc, char** argv, const Spec& spec, const std::function<int(const config::Config&)>& body) {
  const std::string name(spec.name);
  if (util::print_version_if_asked(argc, argv, name)) return 0;
  std::optional<std::filesystem::path> config_file;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_file = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_file = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      usage(spec, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown argument \"%s\"\n", name.c_str(), argv[i]);
      usage(spec, stderr);
      return kExitUsage;
    }
  }

  config::Config cfg;
  try {
    cfg = config::load_config_or_default(config_file);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return kExitConfig;
  }
  log::init(cfg, name);
  if (spec.nothing_to_serve) {
    if (std::string why = spec.nothing_to_serve(cfg); !why.empty()) {
      spdlog::error("{}; nothing to do", why);
      return kExitConfig;
    }
  }

  try {
    return body(cfg);
  } catch (const std::exception& e) {
    // A bug aborts (the supervisor restarts us); the environment's error exits 1.
    if (log::is_internal_error(e)) log::internal_error(name.c_str(), e.what());
    spdlog::critical("{}: {}", name, e.what());
    return 1;
  }
}

net::ListenerOptions listener(const config::Config& cfg, std::string name,
                              std::vector<config::Endpoint> endpoints, bool implicit_tls,
                              std::string over_limit_reply, net::SessionFn session) {
  net::ListenerOptions o;
  o.name = std::move(name);
  o.endpoints = std::move(endpoints);
  o.implicit_tls = implicit_tls;
  o.max_connections = cfg.limits.connections;
  o.max_per_ip = cfg.limits.connections_per_ip;
  o.over_limit_reply = std::move(over_limit_reply);
  o.session = std::move(session);
  return o;
}

void add_listener_pair(net::Server& server, const config::Config& cfg, std::string plain_name,
                       const config::Listener& plain, std::string tls_name, const config::Listener& tls,
                       const std::string& over_limit_reply, const net::SessionFn& session) {
  if (plain.enabled())
    server.add_listener(listener(cfg, std::move(plain_name), plain.listen, false, over_limit_reply, session));
  if (tls.enabled()) server.add_listener(listener(cfg, std::move(tls_name), tls.listen, true, over_limit_reply, session));
}

std::string data_dir_name(const config::Config& cfg) {
  // tern sets TERN_DATA_DIR=/proc/self/cwd when the run user cannot reach data_dir by
  // its path, and TERN_DATA_DIR_NAME to the path the admin configured, for the log.
  if (const char* shown = std::getenv("TERN_DATA_DIR_NAME"); shown && shown[0] == '/') return shown;
  return cfg.data_dir.string();
}

int serve(net::Server& server, std::string_view name, const config::Config& cfg) {
  spdlog::info("{} serving hostname={} data_dir={}", util::version_line(name), cfg.hostname, data_dir_name(cfg));
  int rc = server.run();
  spdlog::info("{} stopped", name);
  return rc;
}

}  // namespace tern::daemon
