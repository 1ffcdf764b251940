// `ternctl status`: which daemons run, from the pid files the supervisor writes
// (data_dir/run/<binary>.pid, design §4).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>

#include "commands.hpp"

namespace tern::ctl {
namespace {

std::string format_duration(long long s) {
  std::ostringstream o;
  if (s >= 86400) o << s / 86400 << "d";
  if (s >= 3600) o << (s % 86400) / 3600 << "h";
  if (s >= 60) o << (s % 3600) / 60 << "m";
  o << s % 60 << "s";
  return o.str();
}

// Seconds since the process started: /proc/<pid>/stat field 22 (starttime, in clock
// ticks since boot) against /proc/uptime.
std::optional<long long> uptime_of(long pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(st, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long start = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) start = std::stoull(field);
  std::ifstream up("/proc/uptime");
  double uptime = 0;
  if (!(up >> uptime)) return std::nullopt;
  long hz = sysconf(_SC_CLK_TCK);
  return static_cast<long long>(uptime - static_cast<double>(start) / static_cast<double>(hz));
}

}  // namespace

int cmd_status(const Context& ctx) {
  static const char* kDaemons[] = {"tern", "tern-mta", "tern-imapd", "tern-pop3d", "tern-web"};
  for (const char* d : kDaemons) {
    std::filesystem::path pidfile = ctx.data_dir / "run" / (std::string(d) + ".pid");
    std::ifstream in(pidfile);
    long pid = 0;
    bool running = false;
    if (in >> pid && pid > 0) running = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    std::printf("%-11s ", d);
    if (!running) {
      std::printf("not running\n");
      continue;
    }
    auto up = uptime_of(pid);
    std::printf("running  pid %ld  uptime %s\n", pid, up ? format_duration(*up).c_str() : "?");
  }
  return kOk;
}

}  // namespace tern::ctl
