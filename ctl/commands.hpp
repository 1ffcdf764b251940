#pragma once
// ternctl verbs (design §4). Each command gets the positional arguments after its
// noun/verb and the parsed options; it prints results on stdout and returns the exit
// status. Errors: one line "ternctl: <what>" on stderr, and nothing changed.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tern/config/config.hpp"
#include "tern/store/store.hpp"

namespace tern::ctl {

// Exit statuses (sysexits.h values where one fits).
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;      // bad input, not found, exists, loop, check breaches
inline constexpr int kUsage = 64;      // EX_USAGE: unknown verb, missing argument
inline constexpr int kTempFail = 75;   // EX_TEMPFAIL: store busy / map or disk full
inline constexpr int kConfig = 78;     // EX_CONFIG: bad config file

struct Args {
  std::vector<std::string> pos;                  // positional arguments after noun verb
  std::map<std::string, std::string> opts;       // "--subject" -> "S"; flags -> ""
  bool has(const std::string& o) const { return opts.count(o) != 0; }
};

struct Context {
  std::filesystem::path data_dir;
  config::Config config;          // the loaded config (ternctl dns: hostname, listeners)
  store::Store* store = nullptr;  // opened lazily by run_command for verbs that need it
};

// Prints one error line and returns the exit status for it.
int fail(const std::string& message, int status = kFailed);
// Maps a store error to a message (with `subject`, e.g. the address) and status.
int fail_store(std::error_code ec, const std::string& subject);

// Runs "noun verb args". Returns the exit status.
int run_command(const std::vector<std::string>& words, const Args& args, Context& ctx);
void print_usage();

// `ternctl queue list [--json] | show ID | flush [ID] | delete ID` (cmd_queue.cpp).
int queue_cmd(const std::string& verb, const Args& a, store::Store& s);

// `ternctl dkim generate|list|rotate|del` (ctl/cmd_dkim.cpp).
int dkim_cmd(const std::string& verb, const Args& args, store::Store& s);

// `ternctl dns DOMAIN [--check] [--json] [--ip A,B]` (ctl/cmd_dns.cpp).
int dns_cmd(const Args& args, const Context& ctx, store::Store& s);

// `ternctl status`: data_dir/run/<binary>.pid of each daemon.
int cmd_status(const Context& ctx);

}  // namespace tern::ctl
