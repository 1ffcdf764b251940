// tern: the supervisor (design §1). Wiring only: options -> config -> data dirs, user,
// sockets -> ProcessManager.
#include "first_start.hpp"
#include "listeners.hpp"
#include "options.hpp"
#include "privileges.hpp"
#include "process_manager.hpp"
#include "tern/config/config.hpp"
#include "tern/log/log.hpp"
#include "tern/util/version.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace {

using namespace tern;
using namespace tern::supervisor;

constexpr int kExitConfig = 78;  // EX_CONFIG (sysexits.h): bad configuration
constexpr int kExitUsage = 64;   // EX_USAGE

// The daemons tern knows, and the listeners that enable each.
std::vector<std::pair<std::string, std::vector<const config::Listener*>>> daemon_table(
    const config::Config& c) {
  return {
      {"tern-mta", {&c.smtp.smtp, &c.smtp.submission, &c.smtp.submissions}},
      {"tern-imapd", {&c.imap.plain, &c.imap.implicit_tls}},
      {"tern-pop3d", {&c.pop3.plain, &c.pop3.implicit_tls}},
      {"tern-web", {&c.web}},
  };
}

std::filesystem::path own_dir(const char* argv0) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) exe = std::filesystem::absolute(argv0, ec);
  return exe.parent_path();
}

// A tern.pid naming a live process means another supervisor runs on this data_dir.
std::optional<pid_t> running_supervisor(const std::filesystem::path& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0 || pid == ::getpid()) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return static_cast<pid_t>(pid);
  return std::nullopt;
}

int run(const Options& opt, const char* argv0) {
  config::Config cfg;
  try {
    cfg = config::load_config_or_default(opt.config);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitConfig;
  }
  if (opt.check_config) {
    std::fputs(config::dump_config(cfg).c_str(), stdout);
    return 0;
  }
  log::init(cfg, "tern");

  const auto bin_dir = own_dir(argv0);
  const bool root = ::geteuid() == 0;
  std::vector<std::string> args;
  if (opt.config) {
    std::error_code ec;
    args = {"--config", std::filesystem::absolute(*opt.config, ec).string()};
  }

  std::vector<DaemonSpec> daemons;
  for (auto& [name, listeners] : daemon_table(cfg)) {
    bool enabled = false;
    for (auto* l : listeners) enabled |= l->enabled();
    if (!enabled) continue;
    auto path = bin_dir / name;
    if (::access(path.c_str(), X_OK) != 0) {
      spdlog::warn("{} is enabled in the config but {} does not exist; not started", name, path.string());
      continue;
    }
    daemons.push_back(DaemonSpec{name, path, args, {}});
  }
  if (daemons.empty()) {
    spdlog::error("nothing to run: no enabled daemon found in {}", bin_dir.string());
    return 1;
  }

  std::optional<RunAs> run_as;
  const auto run_dir = cfg.data_dir / "run";
  const auto own_pid_file = run_dir / "tern.pid";
  try {
    if (root) run_as = resolve_user(cfg.user);
    make_data_dirs(cfg.data_dir, run_as);
    if (auto other = running_supervisor(own_pid_file)) {
      spdlog::error("tern is already running on {} (pid {})", cfg.data_dir.string(), *other);
      return 1;
    }
    if (auto login = first_start(cfg.data_dir)) {
      // Printed on stdout, apart from the log, so it is easy to spot and copy.
      std::printf(
          "\ntern: first start - demo domain %s, mailbox %s password %s,\n"
          "      admin '%s' password %s\n"
          "      (change them with: ternctl user passwd %s / ternctl admin add NAME)\n\n",
          login->domain.c_str(), login->mailbox.c_str(), login->mailbox_password.c_str(),
          login->admin.c_str(), login->admin_password.c_str(), login->mailbox.c_str());
      std::fflush(stdout);
      spdlog::info("first start: created demo domain {}, mailbox {}, admin {}", login->domain,
                   login->mailbox, login->admin);
    }
    if (run_as) {
      chown_tree(cfg.data_dir, *run_as);
      std::vector<std::filesystem::path> readable;
      if (opt.config) readable.push_back(std::filesystem::absolute(*opt.config));
      for (auto& f : {cfg.tls.cert, cfg.tls.key, cfg.relay.password_file})
        if (!f.empty()) readable.emplace_back(f);
      auto problem = check_access(*run_as, readable, {cfg.data_dir, run_dir});
      if (!problem.empty()) {
        spdlog::error("{}", problem);
        return kExitConfig;
      }
      // Bind as root so ports < 1024 work; the daemons inherit the sockets.
      for (auto& d : daemons) {
        std::vector<config::Endpoint> eps;
        for (auto& [name, listeners] : daemon_table(cfg))
          if (name == d.name)
            for (auto* l : listeners) eps.insert(eps.end(), l->listen.begin(), l->listen.end());
        d.sockets = bind_listeners(eps);
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  ProcessManager pm(std::move(daemons), run_dir, run_as);
  pm.block_signals();
  pm.set_reload_check([file = opt.config]() -> std::string {
    try {
      config::load_config_or_default(file);
      return {};
    } catch (const config::ConfigError& e) {
      return e.what();
    }
  });
  {
    std::ofstream out(own_pid_file, std::ios::trunc);
    out << ::getpid() << '\n';
  }
  spdlog::info("{} starting: config {}, data_dir {}{}", util::version_line("tern"), cfg.source,
               cfg.data_dir.string(), run_as ? ", daemons run as " + run_as->name : "");
  int rc = pm.run();
  std::error_code ec;
  std::filesystem::remove(own_pid_file, ec);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  auto opt = parse_options(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!opt) {
    std::fprintf(stderr, "tern: %s\n%s", error.c_str(), kUsage);
    return kExitUsage;
  }
  if (opt->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (opt->version) {
    std::printf("%s\n", util::version_line("tern").c_str());
    return 0;
  }
  try {
    return run(*opt, argv[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern: %s\n", e.what());
    return 1;
  }
}
