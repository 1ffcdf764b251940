#pragma once
// ternctl verbs (design §4). Each noun lives in a file of its own (cmd_<noun>.cpp) and
// is listed once in the table of commands.cpp. A verb gets the positional arguments
// after its noun/verb and the parsed options; it prints results on stdout (with
// --json: one JSON document) and returns the exit status. Errors: one line
// "ternctl: <what>" on stderr, and nothing changed.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/config/config.hpp"
#include "tern/store/store.hpp"

namespace tern::ctl {

// Exit statuses: sysexits(3), the same for every verb.
inline constexpr int kOk = 0;
inline constexpr int kUsage = 64;        // EX_USAGE: unknown verb, missing argument/option
inline constexpr int kDataErr = 65;      // EX_DATAERR: bad input, not found, exists, loop, check breaches
inline constexpr int kUnavailable = 69;  // EX_UNAVAILABLE: no store there, store from a newer tern
inline constexpr int kTempFail = 75;     // EX_TEMPFAIL: store busy / map or disk full / I/O
inline constexpr int kConfig = 78;       // EX_CONFIG: bad config file
inline constexpr int kFailed = kDataErr;  // older name

struct Args {
  std::vector<std::string> pos;                  // positional arguments after noun verb
  std::map<std::string, std::string> opts;       // "--subject" -> "S"; flags -> ""
  bool has(const std::string& o) const { return opts.count(o) != 0; }
  bool json() const { return has("--json"); }
};

struct Context {
  std::filesystem::path data_dir;
  config::Config config;          // the loaded config (ternctl dns: hostname, listeners)
  store::Store* store = nullptr;  // opened by run_command for verbs that need it
};

// Prints one error line and returns the exit status for it.
int fail(const std::string& message, int status = kDataErr);
// Maps a store error to a message (with `subject`, e.g. the address) and status.
int fail_store(std::error_code ec, const std::string& subject);
// Exactly n positional arguments, else the usage line (kUsage) in status.
bool need(const Args& a, std::size_t n, const std::string& usage, int& status);

// Shared helpers.
std::string domain_part(const std::string& address);
std::string human_size(std::uint64_t bytes);
std::string json_str(std::string_view s);  // a quoted, escaped JSON string
// A password from stdin (one line) hashed (yescrypt + SCRAM credential); refuses an
// empty one or one shorter than [auth] password_min_length.
struct Hashed {
  std::string hash;
  std::optional<store::ScramCredential> scram;
};
std::optional<Hashed> hash_from_stdin(const Context& ctx, int& status);

// The nouns (one file each).
int domain_cmd(const std::string& verb, const Args& a, Context& ctx);
int user_cmd(const std::string& verb, const Args& a, Context& ctx);
int alias_cmd(const std::string& verb, const Args& a, Context& ctx);
int autoreply_cmd(const std::string& verb, const Args& a, Context& ctx);
int admin_cmd(const std::string& verb, const Args& a, Context& ctx);
int stats_cmd(const Args& a, Context& ctx);
int check_cmd(const Args& a, Context& ctx);
int backup_cmd(const Args& a, Context& ctx);
int restore_cmd(const Args& a, Context& ctx);  // no store opened: it replaces it

// `ternctl dkim generate|list|rotate|del` (ctl/cmd_dkim.cpp).
int dkim_cmd(const std::string& verb, const Args& args, store::Store& s);
// `ternctl dns DOMAIN [--check] [--json] [--ip A,B]` (ctl/cmd_dns.cpp).
int dns_cmd(const Args& args, const Context& ctx, store::Store& s);

// `ternctl queue list [--json] | show ID | flush [ID] | delete ID` (cmd_queue.cpp).
int queue_cmd(const std::string& verb, const Args& a, store::Store& s);

// Runs "noun verb args". Returns the exit status.
int run_command(const std::vector<std::string>& words, const Args& args, Context& ctx);
void print_usage();

// `ternctl status`: data_dir/run/<binary>.pid of each daemon.
int cmd_status(const Context& ctx);

}  // namespace tern::ctl
