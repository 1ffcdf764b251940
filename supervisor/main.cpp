// tern: the supervisor (design §1). Wiring only: options -> config -> data dirs, user,
// sockets -> ProcessManager.
#include "first_start.hpp"
#include "listeners.hpp"
#include "options.hpp"
#include "privileges.hpp"
#include "process_manager.hpp"
#include "config_diff.hpp"
#include "safe_fs.hpp"
#include "tls_files.hpp"
#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/log/log.hpp"
#include "tern/util/fd_limit.hpp"
#include "tern/util/version.hpp"
#include "tern/tls/credentials.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
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
std::optional<pid_t> running_supervisor(int run_dir) {
  auto text = read_file_at(run_dir, "tern.pid", 32);
  if (!text) return std::nullopt;
  long pid = std::strtol(text->c_str(), nullptr, 10);
  if (pid <= 0 || pid == ::getpid()) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return static_cast<pid_t>(pid);
  return std::nullopt;
}

std::string read_whole(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return ss.str();
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
    if (auto problem = check_tls_files(cfg); !problem.empty()) {
      std::fprintf(stderr, "%s\n", problem.c_str());
      return kExitConfig;
    }
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

  // RLIMIT_NOFILE soft -> hard; the daemons inherit it (and raise their own alone).
  const std::size_t fd_limit = util::raise_fd_limit();
  std::vector<DaemonSpec> daemons;
  for (auto& [name, listeners] : daemon_table(cfg)) {
    std::size_t enabled = 0;
    for (auto* l : listeners) enabled += l->enabled() ? 1 : 0;
    if (!enabled) continue;
    auto path = bin_dir / name;
    if (::access(path.c_str(), X_OK) != 0) {
      spdlog::warn("{} is enabled in the config but {} does not exist; not started", name, path.string());
      continue;
    }
    if (auto problem = util::fd_budget_problem(name, enabled, cfg.limits.connections, fd_limit,
                                                   util::fds_per_connection(name)); !problem.empty()) {
      spdlog::error("{}", problem);
      return kExitConfig;
    }
    daemons.push_back(DaemonSpec{name, path, args, {}});
  }
  if (daemons.empty()) {
    spdlog::error("nothing to run: no enabled daemon found in {}", bin_dir.string());
    return 1;
  }

  std::optional<RunAs> run_as;
  DataDirs dirs;
  Launch launch;
  try {
    if (root) run_as = resolve_user(cfg.user);
    dirs = prepare_data_dir(cfg.data_dir, run_as);
    if (auto other = running_supervisor(dirs.run.get())) {
      spdlog::error("tern is already running on {} (pid {})", cfg.data_dir.string(), *other);
      return 1;
    }
    // The demo logins only with the embedded dev config; a config file means production.
    auto first = first_start(cfg.data_dir, !opt.config);
    if (auto& login = first.demo) {
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
    } else if (first.created) {
      std::fputs(first_steps(cfg.data_dir, std::filesystem::absolute(*opt.config)).c_str(), stdout);
      std::fflush(stdout);
      spdlog::info("first start: created an empty store in {}", cfg.data_dir.string());
    }
    if (run_as) chown_tree(dirs, cfg.data_dir, *run_as);

    // TLS: read as root here (a Let's Encrypt key is root-only) and handed over.
    TlsPair tls_pair = load_tls(cfg, dirs.tls.get());
    launch.tls = tls_pair.creds;
    spdlog::info("tls: {}{}: {}", tls_pair.self_signed ? "self-signed certificate " : "certificate ",
                 tls_pair.cert.string(), tls::describe(tls_pair.creds));
    // One failed-login table for every daemon: SMTP AUTH, POP3, IMAP and the web login
    // count against the same limits (kept across daemon restarts).
    {
      auto geo = auth::ThrottleTable::Geometry{};
      const auth::ThrottleConfig tc;  // the daemons' table size and window
      geo.entries = tc.max_tracked;
      geo.window = tc.window;
      launch.throttle = Fd(auth::ThrottleTable::create_memfd(geo));
      spdlog::info("auth: one failed-login table for all daemons ({} keys per table, {} KiB)",
                   geo.entries, auth::ThrottleTable::bytes_for(geo) / 1024);
    }
    if (tls_pair.self_signed) {
      std::printf("tern: TLS clients find the self-signed certificate to trust in %s\n", tls_pair.cert.c_str());
      std::fflush(stdout);
    }

    if (run_as) {
      // What the daemons open themselves, as the run user.
      std::vector<std::pair<std::filesystem::path, int>> checks{{cfg.data_dir, R_OK | W_OK | X_OK}};
      if (opt.config) checks.emplace_back(std::filesystem::absolute(*opt.config), R_OK);
      auto errs = access_as(*run_as, checks);
      if (errs[0] != 0) {
        // A parent is closed to the run user (a clone under /root, 0700): the daemons
        // start in data_dir (opened here as root) and name it by /proc/self/cwd.
        launch.chdir_fd = dirs.data.get();
        launch.env.push_back("TERN_DATA_DIR=/proc/self/cwd");
        // For their log lines only: the directory the admin configured.
        launch.env.push_back("TERN_DATA_DIR_NAME=" + cfg.data_dir.string());
        spdlog::info("user {} cannot reach {} by its path ({}); the daemons run inside it", run_as->name,
                     cfg.data_dir.string(), std::strerror(errs[0]));
      }
      if (opt.config && errs[1] != 0) {
        launch.config_text = read_whole(*opt.config);
        spdlog::info("user {} cannot read {} ({}); the daemons get a copy from tern", run_as->name,
                     opt.config->string(), std::strerror(errs[1]));
      }
      if (!cfg.relay.password_file.empty()) {
        auto problem = check_access(*run_as, {cfg.relay.password_file}, {});
        if (!problem.empty()) {
          spdlog::error("{}", problem);
          return kExitConfig;
        }
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

  const int tls_dir = dirs.tls.get();
  ProcessManager pm(std::move(daemons), std::move(dirs.run), run_as, std::move(launch));
  pm.block_signals();
  // SIGHUP: a bad config changes nothing; else the TLS pair is re-read (the new
  // config's files) and sent, and every other changed setting is named: it needs a
  // restart of tern.
  std::string running = config::dump_config(cfg);
  // `running` stays the config tern started with: a change is named at every SIGHUP
  // until a restart applies it.
  pm.set_reload([file = opt.config, &running, tls_dir]() -> Reload {
    Reload r;
    config::Config fresh;
    try {
      fresh = config::load_config_or_default(file);
    } catch (const config::ConfigError& e) {
      r.error = e.what();
      return r;
    }
    std::string next = config::dump_config(fresh);
    for (auto& change : config_changes(running, next, {"tls.cert", "tls.key"}))
      spdlog::warn("SIGHUP: {} changed; this setting needs a restart of tern to apply", change);
    try {
      TlsPair p = load_tls(fresh, tls_dir);
      spdlog::info("SIGHUP: tls: {}: {}", p.cert.string(), tls::describe(p.creds));
      r.tls = std::move(p.creds);
    } catch (const std::exception& e) {
      spdlog::error("SIGHUP: tls: {}; the daemons keep the current certificate", e.what());
    }
    return r;
  });
  if (auto err = write_file_at(pm.run_dir(), "tern.pid", std::to_string(::getpid()) + "\n", 0644); !err.empty())
    spdlog::warn("tern.pid: {}", err);
  spdlog::info("{} starting: config {}, data_dir {}{}", util::version_line("tern"), cfg.source,
               cfg.data_dir.string(), run_as ? ", daemons run as " + run_as->name : "");
  int rc = pm.run();
  ::unlinkat(pm.run_dir(), "tern.pid", 0);
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
